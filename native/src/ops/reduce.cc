// Reductions over all elements or over a list of dims (null/undefined dims = all).
#include "common.h"

namespace snn {
namespace {

// (t, dims | null, keepdim)
Napi::Value Sum(Args& a) {
  at::Tensor t = a.tensor(0);
  if (a.isNullish(1)) return Ret(a.env(), t.sum());
  return Ret(a.env(), t.sum(a.ints(1), a.boolean(2)));
}
Napi::Value Mean(Args& a) {
  at::Tensor t = a.tensor(0);
  if (a.isNullish(1)) return Ret(a.env(), t.mean());
  return Ret(a.env(), t.mean(a.ints(1), a.boolean(2)));
}
Napi::Value Amax(Args& a) {
  at::Tensor t = a.tensor(0);
  if (a.isNullish(1)) return Ret(a.env(), t.max());
  return Ret(a.env(), t.amax(a.ints(1), a.boolean(2)));
}
Napi::Value Amin(Args& a) {
  at::Tensor t = a.tensor(0);
  if (a.isNullish(1)) return Ret(a.env(), t.min());
  return Ret(a.env(), t.amin(a.ints(1), a.boolean(2)));
}
// (t, dim, keepdim) → [values, indices]
Napi::Value MaxDim(Args& a) { return Ret(a.env(), a.tensor(0).max(a.i64(1), a.boolean(2))); }
Napi::Value MinDim(Args& a) { return Ret(a.env(), a.tensor(0).min(a.i64(1), a.boolean(2))); }
// (t, dim | null, keepdim)
Napi::Value Argmax(Args& a) {
  at::Tensor t = a.tensor(0);
  if (a.isNullish(1)) return Ret(a.env(), t.argmax());
  return Ret(a.env(), t.argmax(a.i64(1), a.boolean(2)));
}
Napi::Value Argmin(Args& a) {
  at::Tensor t = a.tensor(0);
  if (a.isNullish(1)) return Ret(a.env(), t.argmin());
  return Ret(a.env(), t.argmin(a.i64(1), a.boolean(2)));
}
// (t, dims | null, unbiased, keepdim)
Napi::Value Var(Args& a) {
  at::Tensor t = a.tensor(0);
  bool unbiased = a.boolean(2);
  if (a.isNullish(1)) return Ret(a.env(), t.var(unbiased));
  return Ret(a.env(), t.var(a.ints(1), unbiased, a.boolean(3)));
}
Napi::Value Std(Args& a) {
  at::Tensor t = a.tensor(0);
  bool unbiased = a.boolean(2);
  if (a.isNullish(1)) return Ret(a.env(), t.std(unbiased));
  return Ret(a.env(), t.std(a.ints(1), unbiased, a.boolean(3)));
}
// (t, q: number | tensor, dim | null, keepdim, interpolation, mask)
Napi::Value Quantile(Args& a) {
  a.readMask(5);
  at::Tensor t = a.tensor(0);
  c10::optional<int64_t> dim;
  if (!a.isNullish(2)) dim = a.i64(2);
  bool keep = a.boolean(3);
  std::string interp = a.str(4);
  if (a.isTensor(1)) return Ret(a.env(), at::quantile(t, a.tensor(1), dim, keep, interp));
  return Ret(a.env(), at::quantile(t, a.f64(1), dim, keep, interp));
}
// (t, k, dim, keepdim) → [values, indices]: the k-th smallest, for quantiles of tensors too large for quantile().
Napi::Value Kthvalue(Args& a) { return Ret(a.env(), a.tensor(0).kthvalue(a.i64(1), a.i64(2), a.boolean(3))); }
// (t, k, dim, largest, sorted) → [values, indices]
Napi::Value Topk(Args& a) { return Ret(a.env(), a.tensor(0).topk(a.i64(1), a.i64(2), a.boolean(3), a.boolean(4))); }
// (t, dim, descending) → [values, indices]
Napi::Value Sort(Args& a) { return Ret(a.env(), a.tensor(0).sort(a.i64(1), a.boolean(2))); }
// (t, p, dims | null, keepdim)
Napi::Value Norm(Args& a) {
  at::Tensor t = a.tensor(0);
  at::Scalar p = a.f64(1);
  if (a.isNullish(2)) return Ret(a.env(), at::norm(t, p));
  return Ret(a.env(), at::norm(t, p, a.ints(2), a.boolean(3)));
}
Napi::Value Cumsum(Args& a) { return Ret(a.env(), a.tensor(0).cumsum(a.i64(1))); }
Napi::Value All(Args& a) { return Ret(a.env(), a.tensor(0).all()); }
Napi::Value Any(Args& a) { return Ret(a.env(), a.tensor(0).any()); }

}  // namespace

void InitReduce(Napi::Env env, Napi::Object e) {
  Def(env, e, "sum", Sum);
  Def(env, e, "mean", Mean);
  Def(env, e, "amax", Amax);
  Def(env, e, "amin", Amin);
  Def(env, e, "maxDim", MaxDim);
  Def(env, e, "minDim", MinDim);
  Def(env, e, "argmax", Argmax);
  Def(env, e, "argmin", Argmin);
  Def(env, e, "var", Var);
  Def(env, e, "std", Std);
  Def(env, e, "quantile", Quantile);
  Def(env, e, "kthvalue", Kthvalue);
  Def(env, e, "topk", Topk);
  Def(env, e, "sort", Sort);
  Def(env, e, "norm", Norm);
  Def(env, e, "cumsum", Cumsum);
  Def(env, e, "all", All);
  Def(env, e, "any", Any);
}

}  // namespace snn
