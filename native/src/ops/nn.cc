// Neural-network ops: matmul, linear, convolution, pooling, batch norm, dropout, softmax and losses.
#include "common.h"

namespace snn {
namespace {

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
// (x, weight, bias?, stride[2], padding[2], dilation[2], groups)
Napi::Value Conv2d(Args& a) {
  at::Tensor x = a.tensor(0), w = a.tensor(1);
  auto b = a.optTensor(2);
  return Ret(a.env(), at::conv2d(x, w, b, a.ints(3), a.ints(4), a.ints(5), a.i64(6)));
}
// (x, kernel[2], stride[2], padding[2], ceilMode, countIncludePad, divisorOverride?)
Napi::Value AvgPool2d(Args& a) {
  at::Tensor x = a.tensor(0);
  c10::optional<int64_t> div;
  if (!a.isNullish(6)) div = a.i64(6);
  return Ret(a.env(), at::avg_pool2d(x, a.ints(1), a.ints(2), a.ints(3), a.boolean(4), a.boolean(5), div));
}
// (x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
Napi::Value MaxPool2d(Args& a) {
  at::Tensor x = a.tensor(0);
  return Ret(a.env(), at::max_pool2d(x, a.ints(1), a.ints(2), a.ints(3), a.ints(4), a.boolean(5)));
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
  Def(env, e, "avgPool2d", AvgPool2d);
  Def(env, e, "maxPool2d", MaxPool2d);
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
