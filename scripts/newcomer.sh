#!/usr/bin/env bash
# The plugin author guide, run verbatim and timed (issue 18): every ```sh block of
# docs/plugins/rule-set-rust.md, then rule-set-python.md, then module.md, in order, each
# block one step, from a fresh scratch folder, with `maillage` the binary of this
# checkout. Prints each step's wall time and a summary table; stops at the first failing
# step, printing its block, with a non-zero exit. So the guide cannot rot.
#
# Usage: scripts/newcomer.sh [--list] [--keep]
#   --list   print the steps (page, line, first line) without running them
#   --keep   keep the scratch folder after a successful run (it is always kept on failure)
#
# What stands in for the guide's « Before you start » (docs/plugins/README.md): PATH
# starts with the folder of the maillage binary (MAILLAGE_BIN_DIR, default target/debug
# of this checkout: build it first, `cargo build -p maillage`), and MAILLAGE_CHECKOUT is
# this checkout. Settings that would point the guide at another installation or another
# build folder (DATABASE_URL, MAILLAGE_DATA_DIR, CARGO_TARGET_DIR, RUSTUP_TOOLCHAIN, …)
# are unset.
#
# Each step runs in its own `bash` with `set -euo pipefail` and no standard input,
# starting in the folder, and with the exported variables, that the previous step of the
# same page left (a reader's terminal does the same); each page starts again from the
# scratch folder and the initial environment, so that each page works on its own.
#
# Warm builds: crates come from your cargo cache (~/.cargo, the projects' lock files are
# the checkout's, so nothing is downloaded once it is warm) and componentize-py from your
# pip cache. Unless MAILLAGE_NEWCOMER_COLD=1, each project the guide scaffolds gets, before
# the step after the one that created it, `target` as a symlink to target/newcomer/NAME of
# this checkout, so that reruns only recompile the project itself. (Not CARGO_TARGET_DIR:
# the guide's commands name target/wasm32-wasip2/release/NAME.wasm in the project.) With
# MAILLAGE_NEWCOMER_COLD=1 every project builds from scratch, as a newcomer's first build.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
pages=(docs/plugins/rule-set-rust.md docs/plugins/rule-set-python.md docs/plugins/module.md)

list=0
keep="${MAILLAGE_NEWCOMER_KEEP:-0}"
for arg in "$@"; do
    case "$arg" in
        --list) list=1 ;;
        --keep) keep=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument $arg (see --help)" >&2
            exit 2
            ;;
    esac
done

runner="$(mktemp -d -t maillage-newcomer-runner.XXXXXX)"
scratch=""
cleanup() {
    rm -rf "$runner"
}
trap cleanup EXIT

# --- The steps: the ```sh blocks of each page, verbatim. ---------------------------------
# Only fences at the start of a line count; an indented ```sh block would not be run,
# so it is refused, as are a page without any and an unclosed block.
mkdir -p "$runner/steps"
python3 - "$runner/steps" "${pages[@]/#/$repo/}" <<'PY'
import os, re, sys

out, pages = sys.argv[1], sys.argv[2:]
index = []
n = 0
for page in pages:
    name = os.path.basename(page)
    with open(page, encoding="utf-8") as f:
        lines = f.read().split("\n")
    fence = None  # (language, first line number) of the open block
    block = []
    found = 0
    for number, line in enumerate(lines, 1):
        if fence is None:
            m = re.match(r"^(\s*)```\s*([\w+-]*)\s*$", line)
            if not m:
                continue
            if m.group(1) and m.group(2) == "sh":
                sys.exit(f"{name}:{number}: an indented ```sh block would not be run: start it at the beginning of the line")
            fence = (m.group(2), number)
            block = []
        elif re.match(r"^```\s*$", line):
            language, start = fence
            fence = None
            if language != "sh":
                continue
            text = "\n".join(block).strip("\n")
            if not text.strip():
                sys.exit(f"{name}:{start}: an empty ```sh block")
            n += 1
            found += 1
            with open(os.path.join(out, f"{n:03}.sh"), "w", encoding="utf-8") as step:
                step.write(text + "\n")
            # The step's label: its commands on one line.
            first = "; ".join(l.strip() for l in text.split("\n") if l.strip())
            if "<<" in first:
                first = first[: first.index("<<")].strip() + " <<…"
            index.append(f"{n:03}\t{name}\t{start}\t{first}")
        else:
            block.append(line)
    if fence is not None:
        sys.exit(f"{name}:{fence[1]}: a ``` block is not closed")
    if found == 0:
        sys.exit(f"{name}: no ```sh block: nothing of this page would be tested")
with open(os.path.join(out, "index.tsv"), "w", encoding="utf-8") as f:
    f.write("\n".join(index) + "\n")
PY
total_steps="$(wc -l <"$runner/steps/index.tsv")"

if [ "$list" = 1 ]; then
    while IFS=$'\t' read -r n page line first; do
        printf '%3d  %-20s %4s  %s\n' "$((10#$n))" "$page" "$line" "$first"
    done <"$runner/steps/index.tsv"
    exit 0
fi

# --- The environment of « Before you start ». --------------------------------------------
bin_dir="${MAILLAGE_BIN_DIR:-$repo/target/debug}"
bin_dir="$(cd "$bin_dir" 2>/dev/null && pwd || echo "$bin_dir")"
if [ ! -x "$bin_dir/maillage" ]; then
    echo "no maillage binary in $bin_dir: build it with \`cargo build -p maillage\` (or set MAILLAGE_BIN_DIR)" >&2
    exit 1
fi
unset DATABASE_URL MAILLAGE_DATA_DIR MAILLAGE_DATABASE_SCHEMA MAILLAGE_S3_BUCKET \
    MAILLAGE_S3_ENDPOINT MAILLAGE_S3_REGION MAILLAGE_SMTP_URL MAILLAGE_LISTEN \
    CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR CARGO_BUILD_TARGET RUSTUP_TOOLCHAIN \
    VIRTUAL_ENV PYTHONPATH BASH_ENV ENV
export PATH="$bin_dir:$PATH"
export MAILLAGE_CHECKOUT="$repo"
export PIP_DISABLE_PIP_VERSION_CHECK=1

scratch="$(mktemp -d -t maillage-newcomer.XXXXXX)"
state="$runner/state"
mkdir -p "$state"
# The initial environment, restored at each page's start (empty: the runner's own).
: >"$runner/initial.env"

# One step: the previous step's exported variables and folder, then the block.
cat >"$runner/wrap.sh" <<'WRAP'
state="$1"
step="$2"
source "$state/env" >/dev/null 2>&1 || true
cd "$(cat "$state/pwd")"
set -euo pipefail
source "$step"
export -p >"$state/env"
pwd >"$state/pwd"
WRAP

cold="${MAILLAGE_NEWCOMER_COLD:-0}"
# Before each step: a project folder scaffolded by an earlier step (Cargo.toml, no
# target yet) gets its shared, incremental build folder.
share_build_folders() {
    [ "$cold" = 1 ] && return 0
    local project name
    for project in "$scratch"/*/; do
        project="${project%/}"
        [ -f "$project/Cargo.toml" ] || continue
        if [ -e "$project/target" ] || [ -L "$project/target" ]; then continue; fi
        name="$(basename "$project")"
        mkdir -p "$repo/target/newcomer/$name"
        ln -s "$repo/target/newcomer/$name" "$project/target"
        echo "   (build folder of $name: target/newcomer/$name of the checkout, reused between runs)"
    done
}

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "== the plugin author guide, verbatim: $total_steps steps of ${pages[*]#docs/plugins/}"
echo "   scratch folder: $scratch"
echo "   maillage: $bin_dir/maillage ($("$bin_dir/maillage" --version 2>/dev/null || echo '?'))"
echo "   MAILLAGE_CHECKOUT=$repo"
if [ "$cold" = 1 ]; then
    echo "   cargo: each project builds from scratch in its own target/ (MAILLAGE_NEWCOMER_COLD=1); crates from the cargo cache"
else
    echo "   cargo: warm, each project's target/ is target/newcomer/NAME of the checkout (MAILLAGE_NEWCOMER_COLD=1 for first builds)"
fi

times=()
page_now=""
run_start="$(now)"
while IFS=$'\t' read -r n page line first; do
    if [ "$page" != "$page_now" ]; then
        page_now="$page"
        echo
        echo "== $page"
        cp "$runner/initial.env" "$state/env"
        echo "$scratch" >"$state/pwd"
    fi
    share_build_folders
    echo "-- step $((10#$n))/$total_steps ($page:$line): $first"
    start="$(now)"
    set +e
    bash --noprofile --norc "$runner/wrap.sh" "$state" "$runner/steps/$n.sh" </dev/null 2>&1 | sed -u 's/^/   | /'
    status="${PIPESTATUS[0]}"
    set -e
    took="$(seconds "$start" "$(now)")"
    times+=("$took")
    if [ "$status" != 0 ]; then
        echo
        echo "FAILED: step $((10#$n)) of $total_steps, $page line $line (exit status $status, after $took s). The block, as the guide has it:"
        sed 's/^/    /' "$runner/steps/$n.sh"
        echo "The scratch folder is kept: $scratch"
        exit 1
    fi
    echo "   $took s"
done <"$runner/steps/index.tsv"
total="$(seconds "$run_start" "$(now)")"

# --- Summary. -----------------------------------------------------------------------------
echo
echo "== newcomer timing (paste into docs/plugins/newcomer-timing.md)"
echo
echo "| # | page | step | seconds |"
echo "|---|---|---|---|"
i=0
declare -A per_page=()
while IFS=$'\t' read -r n page line first; do
    t="${times[$i]}"
    i=$((i + 1))
    per_page[$page]="$(awk -v a="${per_page[$page]:-0}" -v b="$t" 'BEGIN { printf "%.1f", a + b }')"
    cell="$(printf '%s' "$first" | sed 's/|/\\|/g')"
    [ "${#cell}" -gt 90 ] && cell="${cell:0:87}..."
    echo "| $((10#$n)) | $page | \`$cell\` | $t |"
done <"$runner/steps/index.tsv"
for page in "${pages[@]}"; do
    page="$(basename "$page")"
    echo "| | **$page** | | **${per_page[$page]:-0}** |"
done
echo "| | **total** | | **$total** |"
echo
minutes="$(awk -v t="$total" 'BEGIN { printf "%.1f", t / 60 }')"
if awk -v t="$total" 'BEGIN { exit !(t < 900) }'; then
    echo "total: $total s ($minutes min): under the 15 minutes of issue 18"
else
    echo "total: $total s ($minutes min): OVER the 15 minutes of issue 18"
fi
if [ "$keep" = 1 ]; then
    echo "scratch folder kept: $scratch"
else
    rm -rf "$scratch"
fi
