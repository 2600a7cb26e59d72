//! Memory management inside the wasm instance.
//!
//! Exports (pointers are byte offsets into linear memory, 16-byte aligned):
//!   alloc_f32(len) -> ptr     room for `len` f32 (or i32: same size); 0 if out of memory
//!   free_f32(ptr, len)        give back a block from alloc_f32(len)
//!   heap_used() -> bytes      handed out and not given back (a diagnostic)
//!
//! `len == 0` returns a non-zero, aligned, dangling pointer (16) that must not
//! be read or written; freeing it is a no-op.
//!
//! The allocator is deliberately simple: a bump pointer that
//! grows linear memory with `memory.grow`, plus one address-ordered free list
//! (first fit, split, coalesce with neighbours, and give the tail back to the
//! bump pointer). All sizes are rounded up to 16 bytes. The TypeScript side
//! caches freed tensors itself, so the free list stays short.
//!
//! When `memory.grow` fails (4 GiB limit, or the engine refuses), or the size
//! overflows, the result is 0 (null): never a wrapped, too-small block.
//! The memory is shared: growing it never detaches a view, but views made before
//! a grow do not reach the new pages, so JS re-creates views after allocating.
//!
//! The same heap is Rust's global allocator, which wasm-bindgen's thread start-up
//! uses (`__wbindgen_malloc`): every worker's instance allocates its stack and its
//! thread-local block there while it starts, possibly while the main thread calls
//! `alloc_f32`, so the heap is behind a spin lock. Kernels themselves never allocate.
//!
//! The heap starts one page past the end of the module's static memory (stack, then
//! data): wasm-bindgen's thread transform keeps that page for its own thread counter,
//! lock and start-up stack (it grows the module's minimum memory by the page, right
//! after LLD's initial memory, which is `__heap_base` rounded up to a page).

use wasm_bindgen::prelude::wasm_bindgen;

/// Alignment (and size granularity) of every block.
pub const ALIGN: usize = 16;

/// Pointer returned for zero-length requests: aligned, non-null, never used.
const DANGLING: usize = ALIGN;

#[inline]
fn round_up(bytes: usize) -> Option<usize> {
    Some(bytes.checked_add(ALIGN - 1)? & !(ALIGN - 1))
}

#[inline]
fn alloc_elems(len: usize, elem: usize) -> usize {
    if len == 0 {
        return DANGLING;
    }
    match len.checked_mul(elem).and_then(round_up) {
        Some(bytes) => heap::locked(|| unsafe { heap::alloc(bytes) }),
        None => 0,
    }
}

#[inline]
fn free_elems(ptr: usize, len: usize, elem: usize) {
    if len == 0 || ptr == 0 {
        return;
    }
    if let Some(bytes) = len.checked_mul(elem).and_then(round_up) {
        heap::locked(|| unsafe { heap::free(ptr, bytes) })
    }
}

/// Bytes handed out and not given back (a diagnostic, with which the tests see that
/// stopped workers give their stacks back).
#[wasm_bindgen]
pub fn heap_used() -> usize {
    heap::locked(|| unsafe { heap::used() })
}

/// Rust's allocator (wasm-bindgen's `__wbindgen_malloc`/`__wbindgen_free`): the same
/// heap, blocks aligned to at most ALIGN bytes.
struct KernelHeap;

unsafe impl core::alloc::GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() > ALIGN {
            return core::ptr::null_mut();
        }
        match round_up(layout.size()) {
            Some(bytes) if bytes > 0 => heap::locked(|| heap::alloc(bytes)) as *mut u8,
            _ => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        if let Some(bytes) = round_up(layout.size()) {
            if bytes > 0 {
                heap::locked(|| heap::free(ptr as usize, bytes))
            }
        }
    }
}

#[global_allocator]
static GLOBAL: KernelHeap = KernelHeap;

/// Allocate room for `len` f32 values; returns the byte offset, or 0 when out of memory.
#[wasm_bindgen]
pub extern "C" fn alloc_f32(len: usize) -> usize {
    alloc_elems(len, 4)
}

/// Free a block returned by `alloc_f32(len)` (same `len`).
#[wasm_bindgen]
pub extern "C" fn free_f32(ptr: usize, len: usize) {
    free_elems(ptr, len, 4)
}

mod heap {
    //! Bump pointer + address-ordered free list over `memory.grow`.
    use super::ALIGN;
    use core::arch::wasm32::{memory_grow, memory_size};
    use core::cell::UnsafeCell;
    use core::ptr::null_mut;
    use core::sync::atomic::{AtomicU32, Ordering};

    const PAGE: usize = 65536;

    /// Header written into the first bytes of every free block.
    #[repr(C)]
    struct FreeBlock {
        size: usize,
        next: *mut FreeBlock,
    }

    struct Heap {
        /// First byte of the heap.
        start: usize,
        /// First byte never handed out (the bump pointer); 0 = not initialised.
        top: usize,
        /// End of linear memory in bytes.
        end: usize,
        /// Free blocks in increasing address order.
        free: *mut FreeBlock,
    }

    struct HeapCell(UnsafeCell<Heap>);
    // Every access goes through `locked`.
    unsafe impl Sync for HeapCell {}

    /// 1 while a thread uses the heap.
    static LOCK: AtomicU32 = AtomicU32::new(0);

    /// Run `f` holding the heap's lock. A spin lock: the main thread of a browser may
    /// not block, and the lock is held for a first-fit walk of a short list.
    pub fn locked<R>(f: impl FnOnce() -> R) -> R {
        while LOCK.compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
        let r = f();
        LOCK.store(0, Ordering::Release);
        r
    }

    static HEAP: HeapCell = HeapCell(UnsafeCell::new(Heap {
        start: 0,
        top: 0,
        end: 0,
        free: null_mut(),
    }));

    extern "C" {
        /// Defined by wasm-ld: first byte after static data (and the stack).
        static __heap_base: u8;
    }

    unsafe fn heap() -> &'static mut Heap {
        let h = &mut *HEAP.0.get();
        if h.top == 0 {
            // Past the page wasm-bindgen's thread transform keeps (see the top of memory.rs).
            let base = core::ptr::addr_of!(__heap_base) as usize;
            h.start = (base + PAGE - 1) / PAGE * PAGE + PAGE;
            h.top = h.start;
            h.end = memory_size(0) * PAGE;
        }
        h
    }

    /// Bytes between the heap's start and the bump pointer that are not in the free list. Hold the lock.
    pub unsafe fn used() -> usize {
        let h = heap();
        let mut free = 0;
        let mut cur = h.free;
        while !cur.is_null() {
            free += (*cur).size;
            cur = (*cur).next;
        }
        h.top - h.start - free
    }

    /// `bytes` is a non-zero multiple of ALIGN. Returns 0 when out of memory. Hold the lock.
    pub unsafe fn alloc(bytes: usize) -> usize {
        let h = heap();
        // First fit in the free list.
        let mut prev: *mut FreeBlock = null_mut();
        let mut cur = h.free;
        while !cur.is_null() {
            let size = (*cur).size;
            if size >= bytes {
                if size - bytes >= ALIGN {
                    // Hand out the tail; the head stays in the list.
                    (*cur).size = size - bytes;
                    return cur as usize + (size - bytes);
                }
                let next = (*cur).next;
                if prev.is_null() {
                    h.free = next;
                } else {
                    (*prev).next = next;
                }
                return cur as usize;
            }
            prev = cur;
            cur = (*cur).next;
        }
        // Bump, growing memory if needed.
        let new_top = match h.top.checked_add(bytes) {
            Some(t) => t,
            None => return 0,
        };
        if new_top > h.end {
            let missing = new_top - h.end;
            let pages = missing / PAGE + (missing % PAGE != 0) as usize;
            if memory_grow(0, pages) == usize::MAX {
                return 0;
            }
            h.end = memory_size(0) * PAGE;
            if new_top > h.end {
                return 0;
            }
        }
        let p = h.top;
        h.top = new_top;
        p
    }

    /// Give back `bytes` (multiple of ALIGN) at `ptr`, as allocated. Hold the lock.
    pub unsafe fn free(ptr: usize, bytes: usize) {
        let h = heap();
        let block = ptr as *mut FreeBlock;
        // Find neighbours: prev < ptr < cur.
        let mut prev: *mut FreeBlock = null_mut();
        let mut cur = h.free;
        while !cur.is_null() && (cur as usize) < ptr {
            prev = cur;
            cur = (*cur).next;
        }
        (*block).size = bytes;
        (*block).next = cur;
        let mut merged = block;
        if !cur.is_null() && ptr + bytes == cur as usize {
            (*block).size += (*cur).size;
            (*block).next = (*cur).next;
        }
        if !prev.is_null() && prev as usize + (*prev).size == ptr {
            (*prev).size += (*block).size;
            (*prev).next = (*block).next;
            merged = prev;
        } else if prev.is_null() {
            h.free = block;
        } else {
            (*prev).next = block;
        }
        // A free block touching the bump pointer goes back to it. Only the last
        // block of the list can touch it, and it has no successor.
        if merged as usize + (*merged).size == h.top && (*merged).next.is_null() {
            h.top = merged as usize;
            // Unlink `merged` (it is the last block).
            if h.free == merged {
                h.free = null_mut();
            } else {
                let mut p = h.free;
                while (*p).next != merged {
                    p = (*p).next;
                }
                (*p).next = null_mut();
            }
        }
    }
}
