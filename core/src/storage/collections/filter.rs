//! Parser for the filter language (PocketBase-like) plugins send to the host. It only builds an
//! AST: the host binds values as SQL parameters later; the limits bound a hostile plugin's cost.

const MAX_INPUT_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;
const MAX_COMPARISONS: usize = 256;
const MAX_IDENT_LEN: usize = 64;

/// Right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Integer(i64),
    Bool(bool),
    Null,
    /// `{:name}`: the value comes from the separately supplied JSON object.
    Param(String),
    /// Only accepted with `in` / `!in`; elements are never lists themselves.
    List(Vec<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
    In,
    NotIn,
}

/// `And` / `Or` always hold at least two children and never directly contain their own kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cmp {
        field: String,
        op: CmpOp,
        value: Operand,
    },
}

/// `position` is a byte offset into the input, always on a char boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {}: {}", self.position, self.message)
    }
}

impl std::error::Error for FilterError {}

impl Expr {
    /// Field names in order of appearance, duplicates kept (one entry per comparison).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().flat_map(Expr::fields).collect(),
            Expr::Not(e) => e.fields(),
            Expr::Cmp { field, .. } => vec![field],
        }
    }
}

fn fail<T>(position: usize, message: impl Into<String>) -> Result<T, FilterError> {
    let message = message.into();
    Err(FilterError { position, message })
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Parses a filter; blank (whitespace-only) input means "no filter" and yields `Ok(None)`.
pub fn parse(input: &str) -> Result<Option<Expr>, FilterError> {
    if input.len() > MAX_INPUT_LEN {
        return fail(0, format!("filter is longer than {MAX_INPUT_LEN} bytes"));
    }
    let mut p = Parser {
        src: input,
        ..Parser::default()
    };
    if p.skip_ws().is_none() {
        return Ok(None);
    }
    let expr = p.chain(true)?;
    let next = p.skip_ws();
    let msg = format!("expected '&&', '||' or end of input, found {}", p.found());
    match next {
        None => Ok(Some(expr)),
        Some(b')') => fail(p.pos, "unmatched ')'"),
        Some(_) => fail(p.pos, msg),
    }
}

/// Recursive descent over bytes: all tokens are ASCII, so token boundaries are char
/// boundaries (string bodies walk whole chars), and slicing uses `get` so it cannot panic.
#[derive(Default)]
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    cmps: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    /// Skips bytes matching `f` (an ASCII-only predicate) and returns them.
    fn take(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    fn skip_ws(&mut self) -> Option<u8> {
        self.take(|c| c.is_ascii_whitespace());
        self.peek()
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        let ok = self.src.get(self.pos..).is_some_and(|s| s.starts_with(tok));
        self.pos += if ok { tok.len() } else { 0 };
        ok
    }

    fn found(&self) -> String {
        let c = self.src.get(self.pos..).and_then(|s| s.chars().next());
        c.map_or_else(|| "end of input".to_string(), |c| format!("{c:?}"))
    }

    /// The `or` level when `or`, else the `and` level; same-kind children are flattened in.
    fn chain(&mut self, or: bool) -> Result<Expr, FilterError> {
        let mut kids = Vec::new();
        loop {
            match if or { self.chain(false) } else { self.unary() }? {
                Expr::Or(v) if or => kids.extend(v),
                Expr::And(v) if !or => kids.extend(v),
                e => kids.push(e),
            }
            if !self.eat(if or { "||" } else { "&&" }) {
                break;
            }
        }
        if kids.len() == 1 {
            return Ok(kids.swap_remove(0));
        }
        Ok(if or { Expr::Or(kids) } else { Expr::And(kids) })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        let negate = self.eat("!"); // also skips leading whitespace
        let start = self.pos - usize::from(negate);
        if !negate && !self.eat("(") {
            return self.comparison();
        }
        // Both '!' and '(' recurse, so both count towards the depth limit.
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(start, format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let e = match negate {
            true => Expr::Not(Box::new(self.unary()?)),
            false => self.chain(true)?,
        };
        if !negate && !self.eat(")") {
            let found = self.found();
            let msg = format!("expected ')' to close the '(' at {start}, found {found}");
            return fail(self.pos, msg);
        }
        self.depth -= 1;
        Ok(e)
    }

    /// A field name (`lower`: `[a-z_][a-z0-9_]*`) or a parameter name (`[A-Za-z_][A-Za-z0-9_]*`).
    fn name(&mut self, what: &str, lower: bool) -> Result<String, FilterError> {
        let (start, found) = (self.pos, self.found());
        let word = self.take(is_ident);
        let upper = lower && word.bytes().any(|c| c.is_ascii_uppercase());
        if word.is_empty() {
            return fail(start, format!("expected a {what}, found {found}"));
        }
        if upper || word.len() > MAX_IDENT_LEN || word.starts_with(|c: char| c.is_ascii_digit()) {
            let pattern = ["[A-Za-z_][A-Za-z0-9_]*", "[a-z_][a-z0-9_]*"][lower as usize];
            let msg = format!("invalid {what} {word:?}: use {pattern}, max {MAX_IDENT_LEN} chars");
            return fail(start, msg);
        }
        Ok(word.to_string())
    }

    fn comparison(&mut self) -> Result<Expr, FilterError> {
        use {CmpOp::*, Operand as O};
        self.cmps += 1;
        if self.cmps > MAX_COMPARISONS {
            return fail(self.pos, format!("more than {MAX_COMPARISONS} comparisons"));
        }
        let field = self.name("field name", true)?;
        // Read the whole operator token so that "==", "<>" or "index" are reported as such.
        self.skip_ws();
        let (op_pos, found) = (self.pos, self.found());
        if matches!(self.take(|c| b"!<>=~".contains(&c)), "" | "!") {
            self.take(is_ident);
        }
        let tok = self.src.get(op_pos..self.pos).unwrap_or("");
        let ops = [Eq, Ne, Lt, Le, Gt, Ge, Contains, NotContains, In, NotIn];
        let mut table = "= != < <= > >= ~ !~ in !in".split(' ').zip(ops);
        let Some((_, op)) = table.find(|(sym, _)| *sym == tok) else {
            let found = match tok {
                "" => found,
                _ => format!("{tok:?}"),
            };
            let msg = format!("expected an operator after field \"{field}\", found {found}");
            return fail(op_pos, msg);
        };
        self.skip_ws();
        let val_pos = self.pos;
        let value = self.operand(true, &format!("after '{tok}'"))?;
        let problem = match (op, &value) {
            (In | NotIn, O::List(_) | O::Param(_)) => None,
            (In | NotIn, _) => Some("needs a list such as [1, 2] or a parameter"),
            (Contains | NotContains, O::Text(_) | O::Param(_)) => None,
            (Contains | NotContains, _) => Some("needs a string or a parameter"),
            (_, O::List(_)) => Some("does not accept a list (only 'in' and '!in' do)"),
            _ => None,
        };
        match problem {
            Some(p) => fail(val_pos, format!("operator '{tok}' {p}")),
            None => Ok(Expr::Cmp { field, op, value }),
        }
    }

    fn operand(&mut self, allow_list: bool, context: &str) -> Result<Operand, FilterError> {
        let (next, start, found) = (self.skip_ws(), self.pos, self.found());
        match next {
            Some(q @ (b'"' | b'\'')) => self.string(q as char),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'{') => self.param(),
            Some(b'[') if allow_list => self.list(),
            Some(b'[') => fail(start, "lists cannot be nested"),
            Some(c) if is_ident(c) => match self.take(is_ident) {
                "true" => Ok(Operand::Bool(true)),
                "false" => Ok(Operand::Bool(false)),
                "null" => Ok(Operand::Null),
                w => fail(start, format!("unexpected word {w:?}; quote strings")),
            },
            _ => fail(start, format!("expected a value {context}, found {found}")),
        }
    }

    fn string(&mut self, quote: char) -> Result<Operand, FilterError> {
        let (start, mut out) = (self.pos, String::new());
        let rest = self.src.get(start..).unwrap_or("");
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            out.push(match c {
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\'' | '\\'))) => e,
                    Some((_, 'n')) => '\n',
                    Some((_, 't')) => '\t',
                    Some((_, e)) => {
                        let msg = format!("unsupported escape '\\{e}' (use \\\" \\' \\\\ \\n \\t)");
                        return fail(start + i, msg);
                    }
                    None => break,
                },
                c if c == quote => {
                    self.pos = start + i + 1;
                    return Ok(Operand::Text(out));
                }
                c => c,
            });
        }
        fail(start, "unterminated string (missing closing quote)")
    }

    fn integer(&mut self) -> Result<Operand, FilterError> {
        let start = self.pos;
        self.eat("-");
        self.take(|c| c.is_ascii_digit());
        let (text, found) = (self.src.get(start..self.pos).unwrap_or(""), self.found());
        if self.peek() == Some(b'.') {
            return fail(start, "floating-point numbers are not supported");
        }
        if text == "-" || self.peek().is_some_and(is_ident) {
            return fail(self.pos, format!("unexpected {found} in number"));
        }
        match text.parse() {
            Ok(n) => Ok(Operand::Integer(n)),
            Err(_) => fail(start, format!("integer {text} does not fit in 64 bits")),
        }
    }

    fn param(&mut self) -> Result<Operand, FilterError> {
        if !self.eat("{:") {
            return fail(self.pos, "expected a parameter such as {:name}");
        }
        let name = self.name("parameter name", false)?;
        if self.peek() != Some(b'}') {
            return fail(self.pos, format!("expected '}}' to close {{:{name}"));
        }
        self.pos += 1;
        Ok(Operand::Param(name))
    }

    fn list(&mut self) -> Result<Operand, FilterError> {
        let mut items = Vec::new();
        self.pos += 1;
        while !self.eat("]") {
            if !items.is_empty() && !self.eat(",") {
                let found = self.found();
                return fail(self.pos, format!("expected ',' or ']', found {found}"));
            }
            items.push(self.operand(false, "in list")?);
        }
        Ok(Operand::List(items))
    }
}

#[cfg(test)]
mod tests {
    use super::{CmpOp::*, Operand::*, *};

    fn ok(s: &str) -> Expr {
        parse(s).expect(s).expect(s)
    }

    #[test]
    fn valid_filters() {
        assert_eq!(parse(" \n\t"), Ok(None));
        let (a, b, c) = (ok("a=1"), ok("b = 2"), ok(" c=3 "));
        assert!(matches!(&a, Expr::Cmp { field, op: Eq, value: Integer(1) } if field == "a"));
        let (and, or, not) = (Expr::And, Expr::Or, |e| Expr::Not(Box::new(e)));
        let bc = and(vec![b.clone(), c.clone()]);
        assert_eq!(ok("a=1 || b=2 && c=3"), or(vec![a.clone(), bc]));
        let ab = or(vec![a.clone(), b.clone()]);
        assert_eq!(ok("(a=1 || b=2) && c=3"), and(vec![ab, c.clone()]));
        let flat = and(vec![a.clone(), b.clone(), c]); // nested And flattened
        assert_eq!(ok("((a = 1)) && (b=2 && c=3)"), flat);
        assert_eq!(ok("!a=1 || !(b=2)"), or(vec![not(a.clone()), not(b)]));
        assert_eq!(ok("!!a=1"), not(not(a)));
        assert_eq!(ok("x=1 || (y=2 && !x=3)").fields(), ["x", "y", "x"]);
        let ops = [Eq, Ne, Lt, Le, Gt, Ge, Contains, NotContains, In, NotIn];
        for (sym, op) in "= != < <= > >= ~ !~ in !in".split(' ').zip(ops) {
            let value = [" 'x'", " [1]"][matches!(op, In | NotIn) as usize];
            assert!(matches!(ok(&format!("f {sym}{value}")), Expr::Cmp { op: o, .. } if o == op));
        }
        let escaped = Text("say \"hi\"\n\t\\ ok".into());
        let list = vec![Integer(1), Text("x".into()), Null, Param("p".into())];
        for (input, want) in [
            (r#"a="say \"hi\"\n\t\\ ok""#, escaped),
            (r"a!='l\'été'", Text("l'été".into())),
            ("city ~ \"Évreux\"", Text("Évreux".into())),
            ("a>=-9223372036854775808", Integer(i64::MIN)),
            ("a = true", Bool(true)),
            ("a = null", Null),
            ("a != {:my_Param1}", Param("my_Param1".into())),
            ("a in{:ids}", Param("ids".into())),
            ("a !~ {:q}", Param("q".into())),
            ("a !in []", List(vec![])),
            ("a in [1, 'x' ,null, {:p}]", List(list)),
        ] {
            assert!(matches!(ok(input), Expr::Cmp { value, .. } if value == want));
        }
    }

    /// One case per line: input => expected start of the Display output.
    const ERRORS: &str = r#"a = "abc => at 4: unterminated string
a == 1 => at 2: expected an operator after field "a", found "=="
a ^ 1 => at 2: expected an operator after field "a", found '^'
a index [1] => at 2: expected an operator after field "a", found "index"
status 1 => at 7: expected an operator after field "status", found "1"
a=1 b=2 => at 4: expected '&&', '||' or end of input, found 'b'
a=1) => at 3: unmatched ')'
(a=1 => at 4: expected ')' to close the '(' at 0, found end of input
a = 1.5 => at 4: floating-point numbers are not supported
a = 9223372036854775808 => at 4: integer 9223372036854775808 does not fit
a = 12ab => at 6: unexpected 'a' in number
a = - => at 5: unexpected end of input in number
a = => at 3: expected a value after '=', found end of input
a = [1] => at 4: operator '=' does not accept a list
a in 1 => at 5: operator 'in' needs a list
a !~ true => at 5: operator '!~' needs a string or a parameter
a in [[1]] => at 6: lists cannot be nested
a in [1 2] => at 8: expected ',' or ']'
a in [1,] => at 8: expected a value in list, found ']'
a = "\x" => at 5: unsupported escape '\x'
a = 'x' && b = '\é' => at 16: unsupported escape '\é'
a = abc => at 4: unexpected word "abc"
a = {:1x} => at 6: invalid parameter name "1x"
a = {:p => at 7: expected '}' to close {:p
Status = 1 => at 0: invalid field name "Status"
a=1 && => at 6: expected a field name, found end of input
a = 'x' é => at 8: expected '&&', '||' or end of input, found 'é'"#;

    #[test]
    fn errors() {
        let msg = |s: &str| parse(s).expect_err(s).message;
        for (input, want) in ERRORS.lines().map(|l| l.split_once(" => ").expect(l)) {
            let got = parse(input).unwrap_err().to_string();
            assert!(got.starts_with(want), "{input:?}: {got}");
        }
        let nest = |n: usize| format!("{}a=1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&nest(32)).is_ok() && msg(&nest(33)).contains("nested deeper"));
        assert!(msg(&format!("{}a=1", "!".repeat(33))).contains("nested deeper"));
        let many = |n: usize| vec!["a=1"; n].join("||");
        assert!(parse(&many(256)).is_ok() && msg(&many(257)).contains("more than 256"));
        assert!(msg(&format!("a='{}'", "é".repeat(2048))).contains("longer than 4096"));
        assert!(msg(&format!("{}=1", "a".repeat(65))).contains("invalid field name"));
    }

    #[test]
    fn never_panics() {
        let check = |s: &str| assert!(!parse(s).is_err_and(|e| !s.is_char_boundary(e.position)));
        for s in [
            r#"a = "x\"y" && (b != 'Évreux' || !c in [1, -2, {:p}])"#,
            "((x !in [\"é\", 'ü']) && y !~ '😀\\n') || z < 10 && t = true && u = null",
        ] {
            assert!(matches!(parse(s), Ok(Some(_))), "{s}");
            (0..=s.len()).for_each(|i| check(&String::from_utf8_lossy(&s.as_bytes()[..i])));
        }
        let chars: Vec<char> = "ab_Z09-.=!<>~()[]{}:,\"'\\ &|é😀\nin".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5000 {
            state ^= state << 7; // xorshift64 (Marsaglia's 7/9 variant)
            state ^= state >> 9;
            let pick = |k: usize| state.rotate_left(k as u32 * 5) as usize;
            let len = (state >> 58) as usize;
            let text: String = (0..len).map(|k| chars[pick(k) % chars.len()]).collect();
            let bytes: Vec<u8> = (0..len).map(|k| pick(k) as u8).collect();
            check(&text);
            check(&String::from_utf8_lossy(&bytes));
        }
    }
}
