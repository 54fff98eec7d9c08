// 2x2 pooling with stride 2 (no padding or dilation, floor mode) over the last two dims of contiguous tensors, row by
// row: the pooling of most networks, at several times the speed of ATen's CPU kernels (pool.cc uses them).
#pragma once
#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace snn {
namespace pool2x2 {

// 2x2 max pooling with stride 2, no padding or dilation, floor mode, of a contiguous float [..., H, W]: the pooling of
// most networks (snn-mnist-cnn, VGG). ATen's CPU kernel (1.13) walks every window with a scalar loop and keeps int64
// indices: 75 ms forward on snn-mnist-cnn's first layer at T = 4 ([256, 128, 28, 28]), 7 % of a training step. This
// one keeps the winner's position in its window as one byte (8x less memory through backward) and picks the same
// winner as ATen: the first maximum in row-major order, or the last NaN.
// One output row: the winner of each window over input rows r0 and r1, scalar from output column j0.
template <typename T>
void Max2x2RowScalar(const T* r0, const T* r1, T* out, uint8_t* k, int64_t j0, int64_t Wo) {
  for (int64_t j = j0; j < Wo; j++) {
    const T c[4] = {r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]};
    T m = c[0];
    uint8_t at = 0;
    for (uint8_t i = 1; i < 4; i++) {
      if (c[i] > m || std::isnan(c[i])) {
        m = c[i];
        at = i;
      }
    }
    out[j] = m;
    k[j] = at;
  }
}
// The input gradient of one output row, scalar from output column j0.
template <typename T>
void Max2x2GradRowScalar(const T* g, const uint8_t* k, T* r0, T* r1, int64_t j0, int64_t Wo) {
  for (int64_t j = j0; j < Wo; j++) {
    r0[2 * j] = k[j] == 0 ? g[j] : T(0);
    r0[2 * j + 1] = k[j] == 1 ? g[j] : T(0);
    r1[2 * j] = k[j] == 2 ? g[j] : T(0);
    r1[2 * j + 1] = k[j] == 3 ? g[j] : T(0);
  }
}

#ifdef __SSE2__
// float32, four windows at a time with SSE2 (every x86-64 CPU): 2x faster forward and 4x faster backward than the
// scalar loops, which GCC does not vectorize (measured on [256, 128, 28, 28], one thread: 30.6 → 16.5 and 44 → 11.7 ms).
inline __m128 Select(__m128 take, __m128 a, __m128 b) { return _mm_or_ps(_mm_and_ps(take, a), _mm_andnot_ps(take, b)); }
void Max2x2Row(const float* r0, const float* r1, float* out, uint8_t* k, int64_t Wo) {
  int64_t j = 0;
  for (; j + 4 <= Wo; j += 4) {
    const __m128 p0 = _mm_loadu_ps(r0 + 2 * j), p1 = _mm_loadu_ps(r0 + 2 * j + 4);
    const __m128 q0 = _mm_loadu_ps(r1 + 2 * j), q1 = _mm_loadu_ps(r1 + 2 * j + 4);
    // Window positions 0..3 (row-major) of four windows: the even and odd columns of the two rows.
    const __m128 c[4] = {_mm_shuffle_ps(p0, p1, _MM_SHUFFLE(2, 0, 2, 0)), _mm_shuffle_ps(p0, p1, _MM_SHUFFLE(3, 1, 3, 1)),
                         _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(2, 0, 2, 0)), _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(3, 1, 3, 1))};
    __m128 m = c[0];
    __m128i at = _mm_setzero_si128();
    for (int i = 1; i < 4; i++) {
      const __m128 take = _mm_or_ps(_mm_cmpgt_ps(c[i], m), _mm_cmpunord_ps(c[i], c[i]));
      m = Select(take, c[i], m);
      at = _mm_castps_si128(Select(take, _mm_castsi128_ps(_mm_set1_epi32(i)), _mm_castsi128_ps(at)));
    }
    _mm_storeu_ps(out + j, m);
    const int32_t bytes = _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(at, at), at));
    std::memcpy(k + j, &bytes, 4);
  }
  Max2x2RowScalar(r0, r1, out, k, j, Wo);
}
void Max2x2GradRow(const float* g, const uint8_t* k, float* r0, float* r1, int64_t Wo) {
  int64_t j = 0;
  const __m128i zero = _mm_setzero_si128();
  for (; j + 4 <= Wo; j += 4) {
    int32_t bytes;
    std::memcpy(&bytes, k + j, 4);
    const __m128i kk = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(bytes), zero), zero);
    const __m128 gv = _mm_loadu_ps(g + j);
    __m128 v[4];
    for (int i = 0; i < 4; i++) v[i] = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(kk, _mm_set1_epi32(i))), gv);
    _mm_storeu_ps(r0 + 2 * j, _mm_unpacklo_ps(v[0], v[1]));
    _mm_storeu_ps(r0 + 2 * j + 4, _mm_unpackhi_ps(v[0], v[1]));
    _mm_storeu_ps(r1 + 2 * j, _mm_unpacklo_ps(v[2], v[3]));
    _mm_storeu_ps(r1 + 2 * j + 4, _mm_unpackhi_ps(v[2], v[3]));
  }
  Max2x2GradRowScalar(g, k, r0, r1, j, Wo);
}
#endif
template <typename T>
void Max2x2Row(const T* r0, const T* r1, T* out, uint8_t* k, int64_t Wo) { Max2x2RowScalar(r0, r1, out, k, 0, Wo); }
template <typename T>
void Max2x2GradRow(const T* g, const uint8_t* k, T* r0, T* r1, int64_t Wo) { Max2x2GradRowScalar(g, k, r0, r1, 0, Wo); }

// 2x2 average pooling with stride 2 (no padding, floor mode, no divisor override) of the same tensors: ATen's CPU
// kernel (1.13) takes 77 ms forward and 79 ms backward on [512, 64, 32, 32] (bench/bptt.mjs's first pooling), six
// times a copy of the tensor. The same sums as ATen, in its order ((a + b) + c) + d, divided by 4.
template <typename T>
void Avg2x2RowScalar(const T* r0, const T* r1, T* out, int64_t j0, int64_t Wo) {
  for (int64_t j = j0; j < Wo; j++) out[j] = (((r0[2 * j] + r0[2 * j + 1]) + r1[2 * j]) + r1[2 * j + 1]) / T(4);
}
template <typename T>
void Avg2x2GradRowScalar(const T* g, T* r0, T* r1, int64_t j0, int64_t Wo) {
  for (int64_t j = j0; j < Wo; j++) r0[2 * j] = r0[2 * j + 1] = r1[2 * j] = r1[2 * j + 1] = g[j] / T(4);
}
#ifdef __SSE2__
inline void Avg2x2Row(const float* r0, const float* r1, float* out, int64_t Wo) {
  int64_t j = 0;
  const __m128 quarter = _mm_set1_ps(0.25f);  // x / 4 == x * 0.25 exactly
  for (; j + 4 <= Wo; j += 4) {
    const __m128 p0 = _mm_loadu_ps(r0 + 2 * j), p1 = _mm_loadu_ps(r0 + 2 * j + 4);
    const __m128 q0 = _mm_loadu_ps(r1 + 2 * j), q1 = _mm_loadu_ps(r1 + 2 * j + 4);
    const __m128 top = _mm_add_ps(_mm_shuffle_ps(p0, p1, _MM_SHUFFLE(2, 0, 2, 0)), _mm_shuffle_ps(p0, p1, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m128 sum = _mm_add_ps(_mm_add_ps(top, _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(2, 0, 2, 0))), _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(3, 1, 3, 1)));
    _mm_storeu_ps(out + j, _mm_mul_ps(sum, quarter));
  }
  Avg2x2RowScalar(r0, r1, out, j, Wo);
}
inline void Avg2x2GradRow(const float* g, float* r0, float* r1, int64_t Wo) {
  int64_t j = 0;
  const __m128 quarter = _mm_set1_ps(0.25f);
  for (; j + 4 <= Wo; j += 4) {
    const __m128 v = _mm_mul_ps(_mm_loadu_ps(g + j), quarter);
    const __m128 lo = _mm_unpacklo_ps(v, v), hi = _mm_unpackhi_ps(v, v);
    _mm_storeu_ps(r0 + 2 * j, lo);
    _mm_storeu_ps(r0 + 2 * j + 4, hi);
    _mm_storeu_ps(r1 + 2 * j, lo);
    _mm_storeu_ps(r1 + 2 * j + 4, hi);
  }
  Avg2x2GradRowScalar(g, r0, r1, j, Wo);
}
#endif
template <typename T>
void Avg2x2Row(const T* r0, const T* r1, T* out, int64_t Wo) { Avg2x2RowScalar(r0, r1, out, 0, Wo); }
template <typename T>
void Avg2x2GradRow(const T* g, T* r0, T* r1, int64_t Wo) { Avg2x2GradRowScalar(g, r0, r1, 0, Wo); }

// Calls row(r, in0) for each output row r of planes [H, W] pooled 2x2, in0 = the offset of its first input row.
template <typename F>
void ForOutputRows(int64_t planes, int64_t H, int64_t W, const F& row) {
  const int64_t Ho = H / 2, Wo = W / 2;
  at::parallel_for(0, planes * Ho, std::max<int64_t>(1, 16384 / std::max<int64_t>(Wo, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) row(r, (r / Ho) * H * W + (r % Ho) * 2 * W);
  });
}
// Zeroes the gradient of the last column and row that floor mode left out (odd W or H), after the row for output row r.
template <typename T>
void ZeroLeftOut(T* gx, int64_t r, int64_t in0, int64_t H, int64_t W) {
  T* r0 = gx + in0;
  if (W % 2) r0[W - 1] = r0[2 * W - 1] = T(0);
  if (H % 2 && r % (H / 2) == H / 2 - 1) std::fill(r0 + 2 * W, r0 + 3 * W, T(0));
}

}  // namespace pool2x2
}  // namespace snn
