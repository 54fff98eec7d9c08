// Pooling: average and max pooling whose backward keeps only what it needs, and fast 2x2 kernels (pool2x2.h).
#include "common.h"
#include "pool2x2.h"
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

// Whether the 2x2 kernels (pool2x2.h) apply: window 2, stride 2, no padding or dilation, floor mode, a float [C, H, W] or
// [N, C, H, W] CPU tensor of at least one window.
bool Is2x2(const at::Tensor& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s, const std::vector<int64_t>& p,
           const std::vector<int64_t>& dil, bool ceil) {
  const auto two = std::vector<int64_t>{2, 2};
  return !ceil && k == two && s == two && p == std::vector<int64_t>{0, 0} && dil == std::vector<int64_t>{1, 1} && x.is_cpu() &&
         (x.dim() == 3 || x.dim() == 4) && x.size(-1) >= 2 && x.size(-2) >= 2 && x.numel() > 0 &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble);
}

// The sizes of x pooled 2x2, and H, W of x.
std::vector<int64_t> Pooled(const at::Tensor& x, int64_t& H, int64_t& W) {
  auto sizes = x.sizes().vec();
  H = sizes[sizes.size() - 2];
  W = sizes.back();
  sizes[sizes.size() - 2] = H / 2;
  sizes.back() = W / 2;
  return sizes;
}

// (output, winner positions) of a tensor Is2x2 accepts.
std::pair<at::Tensor, at::Tensor> Max2x2(const at::Tensor& input) {
  const at::Tensor x = input.contiguous();
  int64_t H, W;
  const auto sizes = Pooled(x, H, W);
  at::Tensor y = at::empty(sizes, x.options()), idx = at::empty(sizes, x.options().dtype(at::kByte));
  const int64_t Wo = W / 2;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "max_pool_2x2", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    uint8_t* kp = idx.data_ptr<uint8_t>();
    pool2x2::ForOutputRows(x.numel() / (H * W), H, W, [&](int64_t r, int64_t in0) {
      pool2x2::Max2x2Row(xp + in0, xp + in0 + W, yp + r * Wo, kp + r * Wo, Wo);
    });
  });
  return {y, idx};
}

at::Tensor Avg2x2(const at::Tensor& input) {
  const at::Tensor x = input.contiguous();
  int64_t H, W;
  at::Tensor y = at::empty(Pooled(x, H, W), x.options());
  const int64_t Wo = W / 2;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "avg_pool_2x2", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    pool2x2::ForOutputRows(x.numel() / (H * W), H, W, [&](int64_t r, int64_t in0) { pool2x2::Avg2x2Row(xp + in0, xp + in0 + W, yp + r * Wo, Wo); });
  });
  return y;
}

// The input gradient of a 2x2 pooling, row by row: row(g row, gx row 0, gx row 1, r); zero where floor mode left out.
template <typename F>
at::Tensor Grad2x2(AutogradContext* ctx, const at::Tensor& grad, const F& row) {
  const at::Tensor g = grad.contiguous();
  const auto sizes = Vec(ctx->saved_data["sizes"]);
  at::Tensor gx = at::empty(sizes, g.options());
  const int64_t H = sizes[sizes.size() - 2], W = sizes.back(), Wo = W / 2;
  AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "pool_2x2_backward", [&] {
    const scalar_t* gp = g.data_ptr<scalar_t>();
    scalar_t* out = gx.data_ptr<scalar_t>();
    pool2x2::ForOutputRows(gx.numel() / (H * W), H, W, [&](int64_t r, int64_t in0) {
      row(gp + r * Wo, out + in0, out + in0 + W, r, Wo);
      pool2x2::ZeroLeftOut(out, r, in0, H, W);
    });
  });
  return gx;
}

struct Max2x2Fn : public torch::autograd::Function<Max2x2Fn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    auto [y, idx] = Max2x2(x);
    ctx->save_for_backward({idx});
    ctx->saved_data["sizes"] = x.sizes().vec();
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const uint8_t* k = ctx->get_saved_variables()[0].data_ptr<uint8_t>();
    return {Grad2x2(ctx, grads[0], [&](const auto* g, auto* r0, auto* r1, int64_t r, int64_t Wo) {
      pool2x2::Max2x2GradRow(g, k + r * Wo, r0, r1, Wo);
    })};
  }
};

struct Avg2x2Fn : public torch::autograd::Function<Avg2x2Fn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    ctx->saved_data["sizes"] = x.sizes().vec();
    return Avg2x2(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {Grad2x2(ctx, grads[0], [](const auto* g, auto* r0, auto* r1, int64_t, int64_t Wo) {
      pool2x2::Avg2x2GradRow(g, r0, r1, Wo);
    })};
  }
};

// (x, kernel[2], stride[2], padding[2], ceilMode, countIncludePad, divisorOverride?)
Napi::Value AvgPool2d(Args& a) {
  at::Tensor x = a.tensor(0);
  c10::optional<int64_t> div;
  if (!a.isNullish(6)) div = a.i64(6);
  if (!div && Is2x2(x, a.ints(1), a.ints(2), a.ints(3), {1, 1}, a.boolean(4)))  // countIncludePad: no padding to count
    return Ret(a.env(), NeedsGrad(x) ? Avg2x2Fn::apply(x) : Avg2x2(x));
  if (!NeedsGrad(x) || (div && *div <= 0)) return Ret(a.env(), at::avg_pool2d(x, a.ints(1), a.ints(2), a.ints(3), a.boolean(4), a.boolean(5), div));
  return Ret(a.env(), AvgPoolFn::apply(x, a.ints(1), a.ints(2), a.ints(3), a.boolean(4), a.boolean(5), div.value_or(0)));
}

// (x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
Napi::Value MaxPool2d(Args& a) {
  at::Tensor x = a.tensor(0);
  if (Is2x2(x, a.ints(1), a.ints(2), a.ints(3), a.ints(4), a.boolean(5)))
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
