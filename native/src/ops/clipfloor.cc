// clipfloor with a straight-through floor, fused: the quantized ANN of the calibration's quantize step (and of QCFS)
// runs it in place of every ReLU. As ten ATen ops (mul, div, add, floor, sub, add, clamp, mul, div, and their
// backward with a broadcast reduction for the threshold) it cost more than the convolution it follows (ResNet-20's
// [64, 16, 32, 32] layers: 17 against 12 ms forward and backward), each op a pass over memory that allocates. Here
// forward is one pass and backward one more, which also sums the threshold's gradient per channel.
//
//   y = clamp(floor(z·L/V + shift), 0, L)·V/L, V one value or one per channel (z's dim 1);
//   dy/dz = 1 where 0 <= floor(z·L/V + shift) <= L (the floor passed straight through; the clamp's mask as ATen's,
//   bounds included), else 0;  dy/dV = clamp(...)/L - mask·z/V.
#include "common.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace snn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// z as [N, C, inner] planes: C is dim 1 (1 for a vector), inner the product of the rest.
struct Planes {
  int64_t N, C, inner;
  explicit Planes(const at::Tensor& z)
      : N(z.dim() == 0 ? 1 : z.size(0)), C(z.dim() >= 2 ? z.size(1) : 1), inner(N * C == 0 ? 0 : z.numel() / (N * C)) {}
};

// floor(u) limited to [-1, L + 1], which decides both clamp(floor(u), 0, L) and the mask 0 <= floor(u) <= L as floor(u)
// itself would, by integer conversion: the build targets plain SSE2, where std::floor is a library call per element
// and this loop vectorizes. NaN comes out as an out-of-range level; callers keep NaN where u is NaN.
template <typename T>
inline T FloorLimited(T u, T L) {
  const T c = u < T(-1) ? T(-1) : (u > L + T(1) ? L + T(1) : u);
  const T t = static_cast<T>(static_cast<int32_t>(c));  // toward zero
  return t > c ? t - T(1) : t;
}

// One plane of forward (restrict pointers, values by argument: the loop vectorizes).
template <typename T>
__attribute__((noinline)) void ForwardPlane(const T* __restrict__ z, T* __restrict__ y, int64_t len, T v, T L, T sh) {
  for (int64_t i = 0; i < len; ++i) {
    const T u = z[i] * L / v + sh, f = FloorLimited(u, L);
    const T out = (f < T(0) ? T(0) : (f > L ? L : f)) * v / L;
    y[i] = u == u ? out : u;  // NaN in, NaN out (as ATen's clamp)
  }
}

at::Tensor Forward(const at::Tensor& z, const at::Tensor& V, double levels, double shift) {
  const Planes p(z);
  at::Tensor y = at::empty_like(z);
  const bool per = V.numel() > 1;
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "clip_floor_ste", [&] {
    const scalar_t* zp = z.data_ptr<scalar_t>();
    const scalar_t* vp = V.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    const scalar_t L = static_cast<scalar_t>(levels), sh = static_cast<scalar_t>(shift);
    at::parallel_for(0, p.N * p.C, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, p.inner)), [&](int64_t b, int64_t e) {
      for (int64_t q = b; q < e; ++q) {
        const scalar_t v = vp[per ? q % p.C : 0];
        ForwardPlane(zp + q * p.inner, yp + q * p.inner, p.inner, v, L, sh);
      }
    });
  });
  return y;
}

// One element of backward: writes the gradient of z, returns its share of V's gradient (when WANT_V).
template <bool WANT_V, typename T>
inline T BackwardAt(T g, T z, T& out, T v, T L, T sh) {
  const T u = z * L / v + sh, f = FloorLimited(u, L);
  // Selects of values and products only: a branch here (a bool mask, a conditional division) stops GCC vectorizing.
  const T lo = f < T(0) ? T(0) : f, lvl = lo > L ? L : lo;  // clamp(f, 0, L)
  const T inside = lvl == f ? T(1) : T(0);                    // 0 <= f <= L (f is never NaN: FloorLimited)
  out = g * inside;
  if (!WANT_V) return T(0);
  const T zv = z / v;
  return g * ((u == u ? lvl : u) / L - inside * zv);
}

// One plane of backward: the gradient of z into out, and (WANT_V) each element's share of V's gradient into share
// (both loops vectorize: no reduction in them), summed after by SumPlane.
template <bool WANT_V, typename T>
__attribute__((noinline)) void BackwardPlane(const T* __restrict__ g, const T* __restrict__ z, T* __restrict__ out, T* __restrict__ share,
                                             int64_t len, T v, T L, T sh) {
  if (WANT_V)
    for (int64_t i = 0; i < len; ++i) share[i] = BackwardAt<true>(g[i], z[i], out[i], v, L, sh);
  else
    for (int64_t i = 0; i < len; ++i) BackwardAt<false>(g[i], z[i], out[i], v, L, sh);
}

// The sum of a plane's shares in double, in eight independent partial sums (a fixed order).
template <typename T>
double SumPlane(const T* __restrict__ x, int64_t len) {
  double lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += static_cast<double>(x[i + j]);
  for (; i < len; ++i) lanes[0] += static_cast<double>(x[i]);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// The gradients of z and (when wanted) of V: each channel's planes over all N by one thread, summed in double in a
// fixed order, so that the result does not depend on the thread count.
std::pair<at::Tensor, at::Tensor> Backward(const at::Tensor& g, const at::Tensor& z, const at::Tensor& V, double levels, double shift,
                                           bool wantV) {
  const Planes p(z);
  at::Tensor gz = at::empty_like(z);
  std::vector<double> perChannel(p.C, 0.0);
  const bool per = V.numel() > 1;
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "clip_floor_ste_backward", [&] {
    const scalar_t* gp = g.data_ptr<scalar_t>();
    const scalar_t* zp = z.data_ptr<scalar_t>();
    const scalar_t* vp = V.data_ptr<scalar_t>();
    scalar_t* out = gz.data_ptr<scalar_t>();
    const scalar_t L = static_cast<scalar_t>(levels), sh = static_cast<scalar_t>(shift);
    at::parallel_for(0, p.C, 1, [&](int64_t b, int64_t e) {
      std::vector<scalar_t> share(wantV ? p.inner : 0);
      for (int64_t c = b; c < e; ++c) {
        const scalar_t v = vp[per ? c : 0];
        double acc = 0;
        for (int64_t n = 0; n < p.N; ++n) {
          const int64_t off = (n * p.C + c) * p.inner;
          if (!wantV) {
            BackwardPlane<false>(gp + off, zp + off, out + off, share.data(), p.inner, v, L, sh);
            continue;
          }
          BackwardPlane<true>(gp + off, zp + off, out + off, share.data(), p.inner, v, L, sh);
          acc += SumPlane(share.data(), p.inner);
        }
        perChannel[c] = acc;
      }
    });
  });
  if (!wantV) return {gz, at::Tensor()};
  at::Tensor gv = at::empty({V.numel()}, at::TensorOptions().dtype(at::kDouble));
  double* gvp = gv.data_ptr<double>();
  if (per) std::copy(perChannel.begin(), perChannel.end(), gvp);
  else gvp[0] = std::accumulate(perChannel.begin(), perChannel.end(), 0.0);
  return {gz, gv.to(V.scalar_type()).view(V.sizes())};
}

struct ClipFloorSteFn : public torch::autograd::Function<ClipFloorSteFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& z, const at::Tensor& Vin, double levels, double shift) {
    const at::Tensor V = Vin.contiguous();
    ctx->save_for_backward({z, V});
    ctx->saved_data["levels"] = levels;
    ctx->saved_data["shift"] = shift;
    return Forward(z, V, levels, shift);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const bool wantV = ctx->needs_input_grad(1);
    auto [gz, gv] = Backward(grads[0].contiguous(), saved[0], saved[1], ctx->saved_data["levels"].toDouble(),
                             ctx->saved_data["shift"].toDouble(), wantV);
    return {gz, gv, at::Tensor(), at::Tensor()};
  }
};

// (z, V, levels, shift): z a float or double CPU tensor, V of its dtype with 1 element or z.size(1) (any shape that
// holds them, e.g. [C, 1, 1]). The TypeScript wrapper checks the arguments and names them.
Napi::Value ClipFloorSte(Args& a) {
  at::Tensor z = a.tensor(0).contiguous(), V = a.tensor(1);
  const double levels = a.f64(2), shift = a.f64(3);
  const int64_t C = z.dim() >= 2 ? z.size(1) : 1;
  if (!z.is_cpu() || !V.is_cpu() || (z.scalar_type() != at::kFloat && z.scalar_type() != at::kDouble) || V.scalar_type() != z.scalar_type())
    a.fail("INVALID_ARGUMENT", "clipFloorSte: z and V must be CPU tensors of one floating dtype (float32 or float64)");
  if (V.numel() != 1 && V.numel() != C)
    a.fail("INVALID_ARGUMENT", "clipFloorSte: V must hold 1 value or one per channel (" + std::to_string(C) + "), got " + std::to_string(V.numel()));
  if (NeedsGrad(z) || NeedsGrad(V)) return Ret(a.env(), ClipFloorSteFn::apply(z, V, levels, shift));
  return Ret(a.env(), Forward(z, V.contiguous(), levels, shift));
}

}  // namespace

void InitClipFloor(Napi::Env env, Napi::Object e) { Def(env, e, "clipFloorSte", ClipFloorSte); }

}  // namespace snn
