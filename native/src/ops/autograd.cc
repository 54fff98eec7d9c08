// Autograd: libtorch's own engine. Grad mode is per thread; JS calls all run on the main thread.
#include "common.h"
#include <c10/core/GradMode.h>

namespace snn {
namespace {

Napi::Value RequiresGrad(Args& a) { return Napi::Boolean::New(a.env(), a.tensor(0).requires_grad()); }
Napi::Value SetRequiresGrad(Args& a) {
  at::Tensor t = a.tensor(0);
  t.requires_grad_(a.boolean(1));
  return a.env().Undefined();
}
Napi::Value IsLeaf(Args& a) { return Napi::Boolean::New(a.env(), a.tensor(0).is_leaf()); }
Napi::Value Grad(Args& a) {
  const at::Tensor& g = a.tensor(0).grad();
  if (!g.defined()) return a.env().Undefined();
  return Ret(a.env(), g);
}
// (t, grad | null): replace or clear the accumulated gradient.
Napi::Value SetGrad(Args& a) {
  at::Tensor t = a.tensor(0);
  t.mutable_grad() = a.isNullish(1) ? at::Tensor() : a.tensor(1);
  return a.env().Undefined();
}
Napi::Value RetainGrad(Args& a) {
  at::Tensor t = a.tensor(0);
  t.retain_grad();
  return a.env().Undefined();
}
// (t, gradient?, retainGraph)
Napi::Value Backward(Args& a) {
  at::Tensor t = a.tensor(0);
  at::Tensor g = a.isNullish(1) ? at::Tensor() : a.tensor(1);
  if (!t.requires_grad())
    a.fail("NO_GRAD", "backward() on a tensor that does not require grad (was it computed under noGrad, or from "
                      "tensors without requiresGrad?): " + Describe(t));
  if (!g.defined() && t.numel() != 1)
    a.fail("SHAPE_MISMATCH", "backward() without a gradient needs a scalar output, got " + Describe(t));
  t.backward(g, a.boolean(2));
  return a.env().Undefined();
}
// (t, src): replaces t's data by src's, keeping t's identity and autograd leaf status (PyTorch's `p.data = src`).
Napi::Value SetData(Args& a) {
  at::Tensor t = a.tensor(0);
  t.set_data(a.tensor(1));
  return a.env().Undefined();
}
Napi::Value SetGradEnabled(Args& a) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(a.boolean(0));
  return Napi::Boolean::New(a.env(), prev);
}
Napi::Value IsGradEnabled(Args& a) { return Napi::Boolean::New(a.env(), c10::GradMode::is_enabled()); }

}  // namespace

void InitAutograd(Napi::Env env, Napi::Object e) {
  Def(env, e, "requiresGrad", RequiresGrad);
  Def(env, e, "setRequiresGrad", SetRequiresGrad);
  Def(env, e, "isLeaf", IsLeaf);
  Def(env, e, "grad", Grad);
  Def(env, e, "setGrad", SetGrad);
  Def(env, e, "retainGrad", RetainGrad);
  Def(env, e, "backward", Backward);
  Def(env, e, "setData", SetData);
  Def(env, e, "setGradEnabled", SetGradEnabled);
  Def(env, e, "isGradEnabled", IsGradEnabled);
}

}  // namespace snn
