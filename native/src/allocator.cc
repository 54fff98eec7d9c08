// A caching CPU allocator. Page faults are expensive on the machines we target: glibc returns large blocks to the OS
// and faults them back in on the next iteration (a conv net ran 2x slower). Blocks of 64 KiB and more are kept in
// size-class free lists and reused; smaller ones go straight to malloc, which serves them from its arenas anyway.
// Select with SNNKIT_ALLOCATOR=caching (default) | system; cap the cache with SNNKIT_CACHE_LIMIT_MB (default 4096).
// A block is reused only for a request of its own size class, so a cache that only grew would hold the freed blocks
// of one size while new blocks of another are requested: a BPTT step's resident memory was 1.5x its live bytes
// (bench/bptt.mjs). So on a miss, cached blocks are freed (largest first) until live + cached + the new block fits
// under the most ever live at once: resident memory stays near the live peak, and a repeating workload still finds
// its blocks in the cache.
#include "common.h"
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>
#include <malloc.h>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace snn {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kSmall = 64 << 10;

size_t RoundSize(size_t n) {
  if (n < kSmall) return (n + kAlign - 1) / kAlign * kAlign;
  // Four size classes per power of two: at most 25% waste, while iterations of one workload hit exactly.
  size_t p = kSmall;
  while (p * 2 <= n) p *= 2;
  size_t step = p / 4;
  return (n + step - 1) / step * step;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<void*, size_t> sizes;             // live blocks of the cache (large only)
  std::unordered_map<size_t, std::vector<void*>> free;  // free blocks by rounded size
  int64_t allocated = 0, cached = 0, peak = 0, hits = 0, misses = 0;
  int64_t highWater = 0;  // the most ever live at once (peak can be reset; this cannot)
  int64_t limit = 4096ll << 20;
};

Cache& C() {
  static Cache* c = new Cache();  // never destroyed: tensors may be freed during process teardown
  return *c;
}

// Frees cached blocks, largest first, until `need` more bytes fit under the high-water mark of live bytes (or the cache
// is empty). Called with the lock held.
void TrimFor(Cache& c, int64_t need) {
  while (c.cached > 0 && c.allocated + c.cached + need > c.highWater) {
    auto big = c.free.end();
    for (auto it = c.free.begin(); it != c.free.end(); ++it)
      if (!it->second.empty() && (big == c.free.end() || it->first > big->first)) big = it;
    if (big == c.free.end()) break;
    void* p = big->second.back();
    big->second.pop_back();
    c.cached -= static_cast<int64_t>(big->first);
    c.sizes.erase(p);
    std::free(p);
  }
}

void DeleteBlock(void* p) {
  if (!p) return;
  Cache& c = C();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.sizes.find(p);
  if (it == c.sizes.end()) {  // a small block
    std::free(p);
    return;
  }
  size_t n = it->second;
  c.allocated -= static_cast<int64_t>(n);
  if (c.cached + static_cast<int64_t>(n) > c.limit) {
    c.sizes.erase(it);
    std::free(p);
    return;
  }
  c.free[n].push_back(p);
  c.cached += static_cast<int64_t>(n);
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
    void* p = nullptr;
    if (n == 0) return {nullptr, nullptr, &DeleteBlock, c10::Device(c10::DeviceType::CPU)};
    size_t r = RoundSize(n);
    if (r < kSmall) {
      p = std::aligned_alloc(kAlign, r);
      if (!p) throw std::bad_alloc();
      return {p, p, &DeleteBlock, c10::Device(c10::DeviceType::CPU)};
    }
    Cache& c = C();
    {
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.free.find(r);
      if (it != c.free.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        c.cached -= static_cast<int64_t>(r);
        c.hits++;
      }
    }
    if (!p) {
      {
        std::lock_guard<std::mutex> lock(c.mu);
        TrimFor(c, static_cast<int64_t>(r));
      }
      p = std::aligned_alloc(kAlign, r);
      if (!p) {
        EmptyCache();
        p = std::aligned_alloc(kAlign, r);
        if (!p) throw std::bad_alloc();
      }
      std::lock_guard<std::mutex> lock(c.mu);
      c.sizes[p] = r;
      c.misses++;
    }
    std::lock_guard<std::mutex> lock(c.mu);
    c.allocated += static_cast<int64_t>(r);
    if (c.allocated > c.peak) c.peak = c.allocated;
    if (c.allocated > c.highWater) c.highWater = c.allocated;
    return {p, p, &DeleteBlock, c10::Device(c10::DeviceType::CPU)};
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
  for (auto& kv : c.free) {
    for (void* p : kv.second) {
      c.sizes.erase(p);
      std::free(p);
    }
  }
  c.free.clear();
  c.cached = 0;
}

}  // namespace snn
