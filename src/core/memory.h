// Heap policy for long prompts (glibc malloc).
#pragma once

namespace duo::core {

// Keeps freed memory for reuse instead of returning it to the kernel: glibc serves every block
// from its heap (no mmap per large block) and never trims it. Without this each layer's
// activations (400 MB at 32K tokens) were mapped, zero-filled by the kernel and unmapped again:
// 20% of a 32K prefill went to page faults and clear_page. `duo` calls it at start; bench calls
// release_free_memory() between runs so that each run's peak is its own. The cost is a higher
// peak: at 32K tokens +12% (full attention) and +25% (25% retrieval heads) resident memory.
// DUO_KEEP_FREED_MEMORY=0 in the environment turns it off.
void keep_freed_memory();
// Returns free heap memory to the kernel (malloc_trim).
void release_free_memory();

}  // namespace duo::core
