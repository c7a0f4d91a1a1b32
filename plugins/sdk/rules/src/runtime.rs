//! What `std` would otherwise bring to a wasm32-wasip2 component, without importing
//! anything: a global allocator, a panic handler, `cabi_realloc`, and the libc memory
//! functions LLVM may call.
//!
//! Compiled for wasm32 only: natively (unit tests) std provides all of it.
//!
//! Why not std: on wasm32-wasip2 std makes the component import WASI (stderr for the
//! panic hook, the environment, the clocks of wasi-libc…), and the host refuses a rule
//! set that imports anything. Without std nothing links wasi-libc either, hence the
//! symbols below that it would have provided.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;
use core::ptr;

/// A WebAssembly page.
const PAGE: usize = 64 * 1024;

/// A bump allocator over fresh linear-memory pages.
///
/// Never freeing is correct here: a rule-set instance lives for one `describe` or
/// `compute` call (the host makes a fresh store and instance for every call, under a
/// small memory cap), so all its memory goes away with it. The only reuse is cheap and
/// exact: the last block can grow or shrink in place (a `Vec` or `String` being built).
///
/// It takes pages with `memory.grow` and never touches memory below the end of the
/// memory it found (stack, static data): nothing else in a no_std rule set grows memory.
/// When growing fails (the host's cap), it returns null, and `alloc` turns that into a
/// panic, which traps.
struct Bump {
    state: UnsafeCell<Arena>,
}

/// The free span `[next, end)`; `end` is 0 until the first allocation.
struct Arena {
    next: usize,
    end: usize,
}

// SAFETY: a component instance runs on one thread (no wasm threads here), so the arena
// is never accessed concurrently.
unsafe impl Sync for Bump {}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    state: UnsafeCell::new(Arena { next: 0, end: 0 }),
};

/// `addr` rounded up to `align` (a power of two, as `Layout` guarantees); None on
/// overflow.
fn align_up(addr: usize, align: usize) -> Option<usize> {
    let mask = align - 1;
    Some(addr.checked_add(mask)? & !mask)
}

/// Where linear memory currently ends, in bytes; None when it spans the whole 4 GiB
/// address space (the byte count does not fit a wasm32 `usize`).
fn memory_end() -> Option<usize> {
    wasm32::memory_size(0).checked_mul(PAGE)
}

impl Arena {
    /// Makes `[.., stop)` usable by growing memory right after the arena, which is only
    /// possible while the arena ends where linear memory ends.
    fn cover(&mut self, stop: usize) -> bool {
        if stop <= self.end {
            return true;
        }
        if self.end == 0 || memory_end() != Some(self.end) {
            return false;
        }
        let pages = (stop - self.end).div_ceil(PAGE);
        let Some(new_end) = pages
            .checked_mul(PAGE)
            .and_then(|bytes| self.end.checked_add(bytes))
        else {
            return false;
        };
        // memory.grow answers usize::MAX (-1) when the host refuses.
        if wasm32::memory_grow(0, pages) == usize::MAX {
            return false;
        }
        self.end = new_end;
        true
    }

    /// A block from the current arena, growing it in place if needed.
    fn bump(&mut self, size: usize, align: usize) -> Option<*mut u8> {
        let start = align_up(self.next, align)?;
        let stop = start.checked_add(size)?;
        if !self.cover(stop) {
            return None;
        }
        self.next = stop;
        Some(start as *mut u8)
    }

    fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        if self.end != 0
            && let Some(block) = self.bump(size, align)
        {
            return block;
        }
        // First allocation, or memory was grown by someone else (nothing does, but it
        // costs nothing to be right): start a new arena where linear memory ends now.
        // What was left of the old one is lost, which is fine (see `Bump`).
        let Some(end) = memory_end() else {
            return ptr::null_mut();
        };
        self.next = end;
        self.end = end;
        self.bump(size, align).unwrap_or(ptr::null_mut())
    }
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see `Sync` above), and no reference to the arena
        // outlives this call.
        let arena = unsafe { &mut *self.state.get() };
        arena.alloc(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {
        // Never freed: the instance is thrown away after one call (see `Bump`).
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let arena = unsafe { &mut *self.state.get() };
        let old = ptr as usize;
        // The last block grows or shrinks in place.
        if old + layout.size() == arena.next
            && let Some(stop) = old.checked_add(new_size)
            && arena.cover(stop)
        {
            arena.next = stop;
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        let new = arena.alloc(new_size, layout.align());
        if !new.is_null() {
            // SAFETY: `ptr` holds `layout.size()` bytes; `new` is a fresh block of
            // `new_size` > `layout.size()` bytes, so they do not overlap.
            unsafe { ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

/// A panic traps: there is nowhere to print its message (no imports), and the host turns
/// the trap into a French error for that one case (« le barème s'est arrêté sur une
/// erreur »).
#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    wasm32::unreachable()
}

/// The canonical ABI's allocator: the host calls it to pass strings and lists (the
/// meeting, the settings) into the rule set. On wasm32-wasip2 it normally comes from
/// std / wasi-libc, and wit-bindgen 0.46 only defines it for other targets, so a no_std
/// rule set must bring its own. Same contract as wit-bindgen's: a zero `new_len` gives
/// the alignment as a dangling pointer, and failure traps.
#[cfg(target_env = "p2")]
#[unsafe(no_mangle)]
unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    if new_len == 0 {
        return align as *mut u8;
    }
    let Ok(layout) = Layout::from_size_align(if old_len == 0 { new_len } else { old_len }, align)
    else {
        wasm32::unreachable()
    };
    // SAFETY: the host passes back a block this function gave it, with its size and
    // alignment, or a zero `old_len` for a new block; both sizes are non-zero here.
    let new = unsafe {
        if old_len == 0 {
            alloc::alloc::alloc(layout)
        } else {
            alloc::alloc::realloc(old_ptr, layout, new_len)
        }
    };
    if new.is_null() {
        wasm32::unreachable()
    }
    new
}

/// wit-bindgen 0.46 links a small C object whose weak `cabi_realloc` forwards to this
/// symbol, which its Rust runtime defines on every target but wasip2. Should the linker
/// ever pull that object in, this keeps the forward resolved (ours above wins anyway,
/// being strong); otherwise the symbol would become an `env` import, and the host
/// refuses a rule set with any import.
#[cfg(target_env = "p2")]
#[unsafe(no_mangle)]
unsafe extern "C" fn cabi_realloc_wit_bindgen_0_46_0(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    // SAFETY: same contract.
    unsafe { cabi_realloc(old_ptr, old_len, align, new_len) }
}

/// The libc functions the code may call (`memcmp`/`bcmp` for every string or
/// slice comparison; the others only as a fallback: with the bulk-memory feature, on by
/// default for wasm32-wasip2, copies and fills become `memory.copy`/`memory.fill`).
/// On wasi targets compiler_builtins leaves them to wasi-libc, which a no_std crate does
/// not link. Byte loops through volatile accesses: LLVM can never turn them back into a
/// call to themselves, and a rule set only compares and copies a few short strings.
#[cfg(target_os = "wasi")]
mod mem {
    use core::ptr::{read_volatile, write_volatile};

    #[unsafe(no_mangle)]
    unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        let mut i = 0;
        while i < n {
            // SAFETY: the caller passes two readable blocks of `n` bytes.
            let (x, y) = unsafe { (read_volatile(a.add(i)), read_volatile(b.add(i))) };
            if x != y {
                return i32::from(x) - i32::from(y);
            }
            i += 1;
        }
        0
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: same contract as memcmp.
        unsafe { memcmp(a, b, n) }
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        let mut i = 0;
        while i < n {
            // SAFETY: the caller passes non-overlapping blocks of `n` bytes.
            unsafe { write_volatile(dest.add(i), read_volatile(src.add(i))) };
            i += 1;
        }
        dest
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        if (dest as usize) <= (src as usize) {
            let mut i = 0;
            while i < n {
                // SAFETY: the caller passes blocks of `n` bytes; copying forwards is
                // right when the destination starts first.
                unsafe { write_volatile(dest.add(i), read_volatile(src.add(i))) };
                i += 1;
            }
        } else {
            let mut i = n;
            while i > 0 {
                i -= 1;
                // SAFETY: as above, backwards when the destination starts after.
                unsafe { write_volatile(dest.add(i), read_volatile(src.add(i))) };
            }
        }
        dest
    }

    /// alloc's `CString` refers to it; a rule set has no C strings, so only an unoptimised
    /// link would ever need it.
    #[unsafe(no_mangle)]
    unsafe extern "C" fn strlen(s: *const u8) -> usize {
        let mut n = 0;
        // SAFETY: the caller passes a NUL-terminated string.
        while unsafe { read_volatile(s.add(n)) } != 0 {
            n += 1;
        }
        n
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn memset(dest: *mut u8, value: i32, n: usize) -> *mut u8 {
        let mut i = 0;
        while i < n {
            // SAFETY: the caller passes a writable block of `n` bytes; C truncates the
            // value to a byte.
            unsafe { write_volatile(dest.add(i), value as u8) };
            i += 1;
        }
        dest
    }
}
