// Pooling: average and max pooling whose backward keeps only what it needs, and a fast 2x2 max pooling.
#include "common.h"
#include <ATen/Parallel.h>
#include <cmath>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <torch/csrc/autograd/custom_function.h>

namespace snn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<int64_t> Vec(const c10::IValue& v) { return v.toIntVector(); }

// Pooling whose backward keeps only what it needs: ATen's own avg_pool2d and max_pool2d save their input for
// backward, which reads nothing of it but its shape (and max pooling's indices). In a spiking network the input is a
// layer's spikes that nothing else keeps, so these save a whole activation per pooling layer (bench/bptt.mjs).
// Backward calls ATen's backward kernels with a zero-stride stand-in of the input's shape.
at::Tensor ShapeOnly(AutogradContext* ctx, const at::Tensor& grad) {
  return at::zeros({}, grad.options()).expand(ctx->saved_data["sizes"].toIntVector());
}

// The input's shape and the pooling window, for backward.
void SaveWindow(AutogradContext* ctx, const at::Tensor& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                const std::vector<int64_t>& p, bool ceil) {
  auto& d = ctx->saved_data;
  d["sizes"] = x.sizes().vec();
  d["k"] = k;
  d["s"] = s;
  d["p"] = p;
  d["ceil"] = ceil;
}

struct AvgPoolFn : public torch::autograd::Function<AvgPoolFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, std::vector<int64_t> k, std::vector<int64_t> s,
                            std::vector<int64_t> p, bool ceil, bool countPad, int64_t divisor) {
    SaveWindow(ctx, x, k, s, p, ceil);
    auto& d = ctx->saved_data;
    d["countPad"] = countPad;
    d["divisor"] = divisor;
    return at::avg_pool2d(x, k, s, p, ceil, countPad, divisor > 0 ? c10::optional<int64_t>(divisor) : c10::nullopt);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto& d = ctx->saved_data;
    int64_t div = d["divisor"].toInt();
    at::Tensor g = at::avg_pool2d_backward(grads[0].contiguous(), ShapeOnly(ctx, grads[0]), Vec(d["k"]), Vec(d["s"]), Vec(d["p"]),
                                           d["ceil"].toBool(), d["countPad"].toBool(), div > 0 ? c10::optional<int64_t>(div) : c10::nullopt);
    return {g.contiguous(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct MaxPoolFn : public torch::autograd::Function<MaxPoolFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, std::vector<int64_t> k, std::vector<int64_t> s,
                            std::vector<int64_t> p, std::vector<int64_t> dil, bool ceil) {
    auto [out, idx] = at::max_pool2d_with_indices(x, k, s, p, dil, ceil);
    ctx->save_for_backward({idx});
    SaveWindow(ctx, x, k, s, p, ceil);
    ctx->saved_data["dil"] = dil;
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto& d = ctx->saved_data;
    at::Tensor idx = ctx->get_saved_variables()[0];
    at::Tensor g = at::max_pool2d_with_indices_backward(grads[0].contiguous(), ShapeOnly(ctx, grads[0]), Vec(d["k"]), Vec(d["s"]),
                                                        Vec(d["p"]), Vec(d["dil"]), d["ceil"].toBool(), idx);
    return {g.contiguous(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// (x, kernel[2], stride[2], padding[2], ceilMode, countIncludePad, divisorOverride?)
Napi::Value AvgPool2d(Args& a) {
  at::Tensor x = a.tensor(0);
  c10::optional<int64_t> div;
  if (!a.isNullish(6)) div = a.i64(6);
  if (!NeedsGrad(x) || (div && *div <= 0)) return Ret(a.env(), at::avg_pool2d(x, a.ints(1), a.ints(2), a.ints(3), a.boolean(4), a.boolean(5), div));
  return Ret(a.env(), AvgPoolFn::apply(x, a.ints(1), a.ints(2), a.ints(3), a.boolean(4), a.boolean(5), div.value_or(0)));
}

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

template <typename T>
void Max2x2Forward(const T* x, T* y, uint8_t* idx, int64_t planes, int64_t H, int64_t W) {
  const int64_t Ho = H / 2, Wo = W / 2;
  at::parallel_for(0, planes * Ho, std::max<int64_t>(1, 16384 / std::max<int64_t>(Wo, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const T* r0 = x + (r / Ho) * H * W + (r % Ho) * 2 * W;
      Max2x2Row(r0, r0 + W, y + r * Wo, idx + r * Wo, Wo);
    }
  });
}

// The input gradient: each output's gradient at its winner, zero elsewhere (and in a row or column that floor mode
// left out).
template <typename T>
void Max2x2Backward(const T* g, const uint8_t* idx, T* gx, int64_t planes, int64_t H, int64_t W) {
  const int64_t Ho = H / 2, Wo = W / 2;
  at::parallel_for(0, planes * Ho, std::max<int64_t>(1, 16384 / std::max<int64_t>(Wo, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const int64_t oh = r % Ho;
      T* r0 = gx + (r / Ho) * H * W + oh * 2 * W;
      T* r1 = r0 + W;
      Max2x2GradRow(g + r * Wo, idx + r * Wo, r0, r1, Wo);
      if (W % 2) r0[W - 1] = r1[W - 1] = T(0);
      if (H % 2 && oh == Ho - 1) std::fill(r1 + W, r1 + 2 * W, T(0));
    }
  });
}

bool IsMax2x2(const at::Tensor& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s, const std::vector<int64_t>& p,
              const std::vector<int64_t>& dil, bool ceil) {
  const auto two = std::vector<int64_t>{2, 2};
  return !ceil && k == two && s == two && p == std::vector<int64_t>{0, 0} && dil == std::vector<int64_t>{1, 1} && x.is_cpu() &&
         (x.dim() == 3 || x.dim() == 4) && x.size(-1) >= 2 && x.size(-2) >= 2 && x.numel() > 0 &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble);
}

// (output, winner positions) of a tensor IsMax2x2 accepts.
std::pair<at::Tensor, at::Tensor> Max2x2(const at::Tensor& input) {
  const at::Tensor x = input.contiguous();
  auto sizes = x.sizes().vec();
  const int64_t H = sizes[sizes.size() - 2], W = sizes.back(), planes = x.numel() / (H * W);
  sizes[sizes.size() - 2] = H / 2;
  sizes.back() = W / 2;
  at::Tensor y = at::empty(sizes, x.options()), idx = at::empty(sizes, x.options().dtype(at::kByte));
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "max_pool_2x2", [&] {
    Max2x2Forward(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), idx.data_ptr<uint8_t>(), planes, H, W);
  });
  return {y, idx};
}

struct Max2x2Fn : public torch::autograd::Function<Max2x2Fn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    auto [y, idx] = Max2x2(x);
    ctx->save_for_backward({idx});
    ctx->saved_data["sizes"] = x.sizes().vec();
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor idx = ctx->get_saved_variables()[0], g = grads[0].contiguous();
    const auto sizes = Vec(ctx->saved_data["sizes"]);
    at::Tensor gx = at::empty(sizes, g.options());
    const int64_t H = sizes[sizes.size() - 2], W = sizes.back();
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "max_pool_2x2_backward", [&] {
      Max2x2Backward(g.data_ptr<scalar_t>(), idx.data_ptr<uint8_t>(), gx.data_ptr<scalar_t>(), gx.numel() / (H * W), H, W);
    });
    return {gx};
  }
};

// (x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
Napi::Value MaxPool2d(Args& a) {
  at::Tensor x = a.tensor(0);
  if (IsMax2x2(x, a.ints(1), a.ints(2), a.ints(3), a.ints(4), a.boolean(5)))
    return Ret(a.env(), NeedsGrad(x) ? Max2x2Fn::apply(x) : Max2x2(x).first);
  if (!NeedsGrad(x)) return Ret(a.env(), at::max_pool2d(x, a.ints(1), a.ints(2), a.ints(3), a.ints(4), a.boolean(5)));
  return Ret(a.env(), MaxPoolFn::apply(x, a.ints(1), a.ints(2), a.ints(3), a.ints(4), a.boolean(5)));
}

}  // namespace

void InitPool(Napi::Env env, Napi::Object e) {
  Def(env, e, "avgPool2d", AvgPool2d);
  Def(env, e, "maxPool2d", MaxPool2d);
}

}  // namespace snn
