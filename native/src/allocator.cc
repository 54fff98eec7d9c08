// A caching CPU allocator. Page faults are expensive on the machines we target: glibc returns large blocks to the OS
// and faults them back in on the next iteration (a conv net ran 2x slower). Requests of 64 KiB and more are served
// from segments the allocator keeps; smaller ones go straight to malloc, which serves them from its arenas anyway.
// A request takes the smallest free block that fits (best fit), split when the rest is 64 KiB or more; a freed block
// merges with free neighbours of its segment (the design of PyTorch's CUDA caching allocator). Reusing blocks of one
// size class only (the first version) kept a BPTT step's resident memory at 1.5x its live bytes: freed blocks of one
// size cannot serve requests of another (bench/bptt.mjs). A new segment is made only when no free block fits.
// Select with SNNKIT_ALLOCATOR=caching (default) | tuned-malloc | system; SNNKIT_CACHE_LIMIT_MB (default 4096) caps the
// free bytes kept: above it, wholly free segments go back to the OS.
#include "common.h"
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>
#include <malloc.h>
#include <cstdlib>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

namespace snn {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kSmall = 64 << 10;

size_t RoundSize(size_t n) {
  if (n < kSmall) return (n + kAlign - 1) / kAlign * kAlign;
  return (n + kSmall - 1) / kSmall * kSmall;  // whole 64 KiB pages: the rest of a split block stays usable
}

// A piece of a segment; prev/next are its neighbours in the segment (null at the segment's ends).
struct Block {
  char* ptr;
  size_t size;
  bool free;
  Block* prev;
  Block* next;
  uint64_t segment;  // creation order of its segment: ties between free blocks of one size break the same way every run
};
// Free blocks by size, then segment, then address within it (best fit: lower_bound).
struct BySize {
  bool operator()(const Block* a, const Block* b) const {
    if (a->size != b->size) return a->size < b->size;
    if (a->segment != b->segment) return a->segment < b->segment;
    return a->ptr < b->ptr;
  }
};

struct Cache {
  std::mutex mu;
  std::unordered_map<void*, Block*> live;           // blocks handed out, by address
  std::set<Block*, BySize> freeBlocks;
  uint64_t segments = 0;
  int64_t allocated = 0, cached = 0, peak = 0, hits = 0, misses = 0;
  int64_t limit = 4096ll << 20;
};

Cache& C() {
  static Cache* c = new Cache();  // never destroyed: tensors may be freed during process teardown
  return *c;
}

// Takes a free block of at least r bytes out of the free set, split to r when the rest is worth keeping; null if none
// fits. Called with the lock held.
Block* TakeFree(Cache& c, size_t r) {
  Block key{nullptr, r, true, nullptr, nullptr, 0};
  auto it = c.freeBlocks.lower_bound(&key);
  if (it == c.freeBlocks.end()) return nullptr;
  Block* b = *it;
  c.freeBlocks.erase(it);
  c.cached -= static_cast<int64_t>(b->size);
  if (b->size - r >= kSmall) {
    Block* rest = new Block{b->ptr + r, b->size - r, true, b, b->next, b->segment};
    if (b->next) b->next->prev = rest;
    b->next = rest;
    b->size = r;
    c.freeBlocks.insert(rest);
    c.cached += static_cast<int64_t>(rest->size);
  }
  b->free = false;
  return b;
}

// Returns a free block to the free set, merged with its free neighbours; a wholly free segment goes back to the OS when
// the free bytes exceed the limit. Called with the lock held.
void PutFree(Cache& c, Block* b) {
  b->free = true;
  for (Block* n : {b->prev, b->next}) {
    if (!n || !n->free) continue;
    c.freeBlocks.erase(n);
    c.cached -= static_cast<int64_t>(n->size);
    Block* lo = n == b->prev ? n : b;
    Block* hi = lo == n ? b : n;
    lo->size += hi->size;
    lo->next = hi->next;
    if (hi->next) hi->next->prev = lo;
    delete hi;
    b = lo;
  }
  if (!b->prev && !b->next && c.cached + static_cast<int64_t>(b->size) > c.limit) {
    std::free(b->ptr);
    delete b;
    return;
  }
  c.freeBlocks.insert(b);
  c.cached += static_cast<int64_t>(b->size);
}

void DeleteBlock(void* p) {
  if (!p) return;
  Cache& c = C();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.live.find(p);
  if (it == c.live.end()) {  // a small block
    std::free(p);
    return;
  }
  Block* b = it->second;
  c.live.erase(it);
  c.allocated -= static_cast<int64_t>(b->size);
  PutFree(c, b);
}

// Frees every wholly free segment. Called with the lock held.
void ReleaseFreeSegments(Cache& c) {
  for (auto it = c.freeBlocks.begin(); it != c.freeBlocks.end();) {
    Block* b = *it;
    if (b->prev || b->next) {
      ++it;
      continue;
    }
    c.cached -= static_cast<int64_t>(b->size);
    std::free(b->ptr);
    delete b;
    it = c.freeBlocks.erase(it);
  }
}

// libtorch 2.3 made Allocator::allocate non-const and added the pure virtual copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define SNN_ALLOCATE_CONST
#define SNN_HAS_COPY_DATA 1
#else
#define SNN_ALLOCATE_CONST const
#define SNN_HAS_COPY_DATA 0
#endif

struct CachingAllocator final : public c10::Allocator {
#if SNN_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
  c10::DataPtr allocate(size_t n) SNN_ALLOCATE_CONST override {
    if (n == 0) return {nullptr, nullptr, &DeleteBlock, c10::Device(c10::DeviceType::CPU)};
    size_t r = RoundSize(n);
    if (r < kSmall) {
      void* p = std::aligned_alloc(kAlign, r);
      if (!p) throw std::bad_alloc();
      return {p, p, &DeleteBlock, c10::Device(c10::DeviceType::CPU)};
    }
    Cache& c = C();
    std::lock_guard<std::mutex> lock(c.mu);
    Block* b = TakeFree(c, r);
    if (b) {
      c.hits++;
    } else {
      char* seg = static_cast<char*>(std::aligned_alloc(kAlign, r));
      if (!seg) {
        ReleaseFreeSegments(c);
        seg = static_cast<char*>(std::aligned_alloc(kAlign, r));
        if (!seg) throw std::bad_alloc();
      }
      b = new Block{seg, r, false, nullptr, nullptr, c.segments++};
      c.misses++;
    }
    c.live[b->ptr] = b;
    c.allocated += static_cast<int64_t>(b->size);
    if (c.allocated > c.peak) c.peak = c.allocated;
    return {b->ptr, b->ptr, &DeleteBlock, c10::Device(c10::DeviceType::CPU)};
  }
  // oneDNN asks for a raw deleter and aborts without one.
  c10::DeleterFnPtr raw_deleter() const override { return &DeleteBlock; }
};

std::string g_kind = "system";

}  // namespace

void InstallAllocator() {
  const char* want = std::getenv("SNNKIT_ALLOCATOR");
  std::string kind = want ? want : "caching";
  if (const char* lim = std::getenv("SNNKIT_CACHE_LIMIT_MB")) C().limit = std::atoll(lim) << 20;
  if (kind == "caching") {
    static CachingAllocator* alloc = new CachingAllocator();
    c10::SetCPUAllocator(alloc, /*priority=*/10);
    g_kind = "caching";
  } else if (kind == "tuned-malloc") {
    // The alternative measured in bench/: keep glibc, but stop it from returning large blocks to the OS.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 256 << 20);
    g_kind = "tuned-malloc";
  } else {
    g_kind = "system";
  }
}

AllocatorStats GetAllocatorStats() {
  Cache& c = C();
  std::lock_guard<std::mutex> lock(c.mu);
  return {g_kind, c.allocated, c.cached, c.peak, c.hits, c.misses};
}

void ResetPeak() {
  Cache& c = C();
  std::lock_guard<std::mutex> lock(c.mu);
  c.peak = c.allocated;
}

void EmptyCache() {
  Cache& c = C();
  std::lock_guard<std::mutex> lock(c.mu);
  ReleaseFreeSegments(c);
}

}  // namespace snn
