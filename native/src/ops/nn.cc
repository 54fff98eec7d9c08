// Neural-network ops: matmul, linear, convolution, pooling, batch norm, dropout, softmax and losses.
#include "common.h"
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

namespace snn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<int64_t> Vec(const c10::IValue& v) { return v.toIntVector(); }

int64_t Reduction(Args& a, size_t i) {
  std::string r = a.str(i);
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  a.fail("INVALID_ARGUMENT", "reduction must be one of 'mean', 'sum', 'none'; got '" + r + "'");
}

Napi::Value Matmul(Args& a) {
  at::Tensor x = a.tensor(0), y = a.tensor(1);
  return Ret(a.env(), at::matmul(x, y));
}
// (x, weight [out,in], bias?)
Napi::Value Linear(Args& a) {
  at::Tensor x = a.tensor(0), w = a.tensor(1);
  return Ret(a.env(), at::linear(x, w, a.optTensor(2)));
}
// Convolution whose backward runs over slices of the batch when the input is large. ATen's backward (oneDNN) makes
// reordered copies of the input and the output gradient: on a [512, 64, 32, 32] input it peaks at 384 MB over its
// operands, which is the peak of a whole BPTT step (bench/bptt.mjs). Slices of about SNNKIT_CONV_SLICE_MB (default 32; 0: none) of input bound
// those copies; the input gradient is written slice by slice, the weight and bias gradients summed.
int64_t ConvSliceBytes() {
  static const int64_t bytes = [] {
    const char* v = std::getenv("SNNKIT_CONV_SLICE_MB");
    return (v ? std::atoll(v) : 32ll) << 20;
  }();
  return bytes;
}

struct Conv2dFn : public torch::autograd::Function<Conv2dFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b,
                            std::vector<int64_t> stride, std::vector<int64_t> padding, std::vector<int64_t> dilation, int64_t groups) {
    ctx->save_for_backward({x, w});
    auto& d = ctx->saved_data;
    d["stride"] = stride;
    d["padding"] = padding;
    d["dilation"] = dilation;
    d["groups"] = groups;
    d["bias"] = b ? b->size(0) : int64_t(-1);
    return at::conv2d(x, w, b, stride, padding, dilation, groups);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1];
    auto& d = ctx->saved_data;
    const int64_t biasSize = d["bias"].toInt();
    const std::array<bool, 3> mask{x.requires_grad(), w.requires_grad(), biasSize >= 0 && ctx->needs_input_grad(2)};
    std::vector<int64_t> biasSizes{biasSize};
    auto part = [&](const at::Tensor& g, const at::Tensor& xs) {
      return at::convolution_backward(g, xs, w, biasSize >= 0 ? c10::OptionalIntArrayRef(biasSizes) : c10::nullopt,
                                      Vec(d["stride"]), Vec(d["padding"]), Vec(d["dilation"]), false, {0, 0}, d["groups"].toInt(), mask);
    };
    const at::Tensor g = grads[0];
    const int64_t N = x.size(0), rowBytes = std::max<int64_t>(1, x.numel() / std::max<int64_t>(N, 1) * x.element_size());
    const int64_t slice = ConvSliceBytes();
    const int64_t rows = slice <= 0 ? N : std::max<int64_t>(1, slice / rowBytes);
    at::Tensor gx, gw, gb, none;
    if (rows >= N) {
      std::tie(gx, gw, gb) = part(g, x);
    } else {
      if (mask[0]) gx = at::empty_like(x);
      for (int64_t s = 0; s < N; s += rows) {
        const int64_t n = std::min(rows, N - s);
        auto [px, pw, pb] = part(g.narrow(0, s, n), x.narrow(0, s, n));
        if (mask[0]) gx.narrow(0, s, n).copy_(px);
        if (mask[1]) gw = gw.defined() ? gw.add_(pw) : pw;
        if (mask[2]) gb = gb.defined() ? gb.add_(pb) : pb;
      }
    }
    return {mask[0] ? gx : none, mask[1] ? gw : none, mask[2] ? gb : none, none, none, none, none};
  }
};

// (x, weight, bias?, stride[2], padding[2], dilation[2], groups)
Napi::Value Conv2d(Args& a) {
  at::Tensor x = a.tensor(0), w = a.tensor(1);
  auto b = a.optTensor(2);
  const bool grad = NeedsGrad(x) || NeedsGrad(w) || (b && NeedsGrad(*b));
  // The autograd function for 4-D float CPU inputs of matching dtypes; ATen's own op otherwise (and for its errors).
  const bool custom = grad && x.dim() == 4 && w.dim() == 4 && x.is_cpu() && x.scalar_type() == w.scalar_type() &&
                      (!b || b->scalar_type() == x.scalar_type()) && at::isFloatingType(x.scalar_type());
  if (!custom) return Ret(a.env(), at::conv2d(x, w, b, a.ints(3), a.ints(4), a.ints(5), a.i64(6)));
  return Ret(a.env(), Conv2dFn::apply(x, w, b, a.ints(3), a.ints(4), a.ints(5), a.i64(6)));
}
Napi::Value AdaptiveAvgPool2d(Args& a) { return Ret(a.env(), at::adaptive_avg_pool2d(a.tensor(0), a.ints(1))); }
// (x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps). In training mode the running statistics,
// when given, are updated in place (PyTorch semantics: unbiased variance, momentum weights the new batch).
Napi::Value BatchNorm(Args& a) {
  at::Tensor x = a.tensor(0);
  auto w = a.optTensor(1), b = a.optTensor(2), rm = a.optTensor(3), rv = a.optTensor(4);
  return Ret(a.env(), at::batch_norm(x, w, b, rm, rv, a.boolean(5), a.f64(6), a.f64(7), /*cudnn_enabled=*/true));
}
// (x, p, training, generator?) — with a generator, the mask comes from it (reproducible per generator).
Napi::Value Dropout(Args& a) {
  at::Tensor x = a.tensor(0);
  double p = a.f64(1);
  bool train = a.boolean(2);
  if (!train || p == 0) return Ret(a.env(), x.view_as(x));
  auto gen = a.generator(3);
  if (!gen) return Ret(a.env(), at::dropout(x, p, true));
  if (p == 1) return Ret(a.env(), x * 0);
  at::Tensor mask = at::empty_like(x).bernoulli_(1 - p, gen).div_(1 - p);
  return Ret(a.env(), x * mask);
}
Napi::Value LogSoftmax(Args& a) { return Ret(a.env(), at::log_softmax(a.tensor(0), a.i64(1))); }
Napi::Value Softmax(Args& a) { return Ret(a.env(), at::softmax(a.tensor(0), a.i64(1))); }
// (logits, target (class indices int64, or probabilities), weight?, reduction, ignoreIndex, labelSmoothing)
Napi::Value CrossEntropy(Args& a) {
  at::Tensor x = a.tensor(0), y = a.tensor(1);
  auto w = a.optTensor(2);
  return Ret(a.env(), at::cross_entropy_loss(x, y, w, Reduction(a, 3), a.i64(4), a.f64(5)));
}
// (logProbs, target, weight?, reduction, ignoreIndex)
Napi::Value NllLoss(Args& a) {
  at::Tensor x = a.tensor(0), y = a.tensor(1);
  auto w = a.optTensor(2);
  return Ret(a.env(), at::nll_loss_nd(x, y, w, Reduction(a, 3), a.i64(4)));
}
// (input, target, reduction)
Napi::Value MseLoss(Args& a) {
  at::Tensor x = a.tensor(0), y = a.tensor(1);
  return Ret(a.env(), at::mse_loss(x, y, Reduction(a, 2)));
}

}  // namespace

void InitNN(Napi::Env env, Napi::Object e) {
  Def(env, e, "matmul", Matmul);
  Def(env, e, "linear", Linear);
  Def(env, e, "conv2d", Conv2d);
  Def(env, e, "adaptiveAvgPool2d", AdaptiveAvgPool2d);
  Def(env, e, "batchNorm", BatchNorm);
  Def(env, e, "dropout", Dropout);
  Def(env, e, "logSoftmax", LogSoftmax);
  Def(env, e, "softmax", Softmax);
  Def(env, e, "crossEntropy", CrossEntropy);
  Def(env, e, "nllLoss", NllLoss);
  Def(env, e, "mseLoss", MseLoss);
}

}  // namespace snn
