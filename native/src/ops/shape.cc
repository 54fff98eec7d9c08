// Metadata, views, indexing, joining, padding, dtype/device conversion, in-place copies.
#include "common.h"

namespace snn {
namespace {

Napi::Value Shape(Args& a) { return IntArray(a.env(), a.tensor(0).sizes()); }
Napi::Value Dtype(Args& a) { return Napi::String::New(a.env(), DtypeName(a.tensor(0).scalar_type())); }
Napi::Value Device(Args& a) { return Napi::String::New(a.env(), a.tensor(0).device().str()); }
Napi::Value IsContiguous(Args& a) { return Napi::Boolean::New(a.env(), a.tensor(0).is_contiguous()); }

Napi::Value Reshape(Args& a) { return Ret(a.env(), a.tensor(0).reshape(a.ints(1))); }
Napi::Value View(Args& a) { return Ret(a.env(), a.tensor(0).view(a.ints(1))); }
Napi::Value Permute(Args& a) { return Ret(a.env(), a.tensor(0).permute(a.ints(1))); }
Napi::Value Transpose(Args& a) { return Ret(a.env(), a.tensor(0).transpose(a.i64(1), a.i64(2))); }
Napi::Value Contiguous(Args& a) { return Ret(a.env(), a.tensor(0).contiguous()); }
Napi::Value Clone(Args& a) { return Ret(a.env(), a.tensor(0).clone()); }
Napi::Value Detach(Args& a) { return Ret(a.env(), a.tensor(0).detach()); }
Napi::Value Flatten(Args& a) { return Ret(a.env(), a.tensor(0).flatten(a.i64(1), a.i64(2))); }
Napi::Value Unsqueeze(Args& a) { return Ret(a.env(), a.tensor(0).unsqueeze(a.i64(1))); }
Napi::Value Squeeze(Args& a) {
  at::Tensor t = a.tensor(0);
  return Ret(a.env(), a.isNullish(1) ? t.squeeze() : t.squeeze(a.i64(1)));
}
Napi::Value Expand(Args& a) { return Ret(a.env(), a.tensor(0).expand(a.ints(1))); }
Napi::Value Repeat(Args& a) { return Ret(a.env(), a.tensor(0).repeat(a.ints(1))); }
Napi::Value Flip(Args& a) { return Ret(a.env(), a.tensor(0).flip(a.ints(1))); }

// (t, dim, start, end, step): Python's t[..., start:end:step, ...] on one dimension (end clamps like Python).
Napi::Value Slice(Args& a) {
  at::Tensor t = a.tensor(0);
  return Ret(a.env(), t.slice(a.i64(1), a.i64(2), a.i64(3), a.i64(4)));
}
Napi::Value Select(Args& a) { return Ret(a.env(), a.tensor(0).select(a.i64(1), a.i64(2))); }
// (t, size, stride, storage offset): a view of t's storage, as torch.as_strided (libtorch checks the storage bounds).
Napi::Value AsStrided(Args& a) { return Ret(a.env(), a.tensor(0).as_strided(a.ints(1), a.ints(2), a.i64(3))); }
Napi::Value Narrow(Args& a) { return Ret(a.env(), a.tensor(0).narrow(a.i64(1), a.i64(2), a.i64(3))); }
Napi::Value IndexSelect(Args& a) {
  at::Tensor t = a.tensor(0);
  int64_t dim = a.i64(1);
  return Ret(a.env(), t.index_select(dim, a.tensor(2)));
}
Napi::Value Gather(Args& a) {
  at::Tensor t = a.tensor(0);
  int64_t dim = a.i64(1);
  return Ret(a.env(), t.gather(dim, a.tensor(2)));
}
Napi::Value MaskedSelect(Args& a) {
  at::Tensor t = a.tensor(0);
  return Ret(a.env(), t.masked_select(a.tensor(1)));
}
Napi::Value Cat(Args& a) { return Ret(a.env(), at::cat(a.tensors(0), a.i64(1))); }
Napi::Value Stack(Args& a) { return Ret(a.env(), at::stack(a.tensors(0), a.i64(1))); }
Napi::Value Split(Args& a) { return Ret(a.env(), a.tensor(0).split(a.i64(1), a.i64(2))); }

// (t, pads [last dim first, as torch.nn.functional.pad], mode, value)
Napi::Value Pad(Args& a) {
  at::Tensor t = a.tensor(0);
  std::vector<int64_t> pads = a.ints(1);
  std::string mode = a.str(2);
  if (mode == "constant") return Ret(a.env(), at::constant_pad_nd(t, pads, a.f64(3)));
  if (mode == "reflect" && pads.size() == 4) return Ret(a.env(), at::reflection_pad2d(t, pads));
  if (mode == "replicate" && pads.size() == 4) return Ret(a.env(), at::replication_pad2d(t, pads));
  a.fail("INVALID_ARGUMENT", "mode must be 'constant', or 'reflect' / 'replicate' with 4 pads; got '" + mode + "' with " +
                                 std::to_string(pads.size()) + " pads");
}

Napi::Value ToDtype(Args& a) { return Ret(a.env(), a.tensor(0).to(a.dtype(1))); }
Napi::Value ToDevice(Args& a) { return Ret(a.env(), a.tensor(0).to(at::Device(a.str(1)))); }

Napi::Value CopyInplace(Args& a) {
  at::Tensor dst = a.tensor(0);
  dst.copy_(a.tensor(1));
  return a.env().Undefined();
}
Napi::Value FillInplace(Args& a) {
  at::Tensor t = a.tensor(0);
  t.fill_(a.scalar(1));
  return a.env().Undefined();
}
Napi::Value ZeroInplace(Args& a) {
  at::Tensor t = a.tensor(0);
  t.zero_();
  return a.env().Undefined();
}
Napi::Value OneHot(Args& a) { return Ret(a.env(), at::one_hot(a.tensor(0), a.i64(1))); }

}  // namespace

void InitShape(Napi::Env env, Napi::Object e) {
  Def(env, e, "shape", Shape);
  Def(env, e, "dtype", Dtype);
  Def(env, e, "device", Device);
  Def(env, e, "isContiguous", IsContiguous);
  Def(env, e, "reshape", Reshape);
  Def(env, e, "view", View);
  Def(env, e, "permute", Permute);
  Def(env, e, "transpose", Transpose);
  Def(env, e, "contiguous", Contiguous);
  Def(env, e, "clone", Clone);
  Def(env, e, "detach", Detach);
  Def(env, e, "flatten", Flatten);
  Def(env, e, "unsqueeze", Unsqueeze);
  Def(env, e, "squeeze", Squeeze);
  Def(env, e, "expand", Expand);
  Def(env, e, "repeat", Repeat);
  Def(env, e, "flip", Flip);
  Def(env, e, "slice", Slice);
  Def(env, e, "select", Select);
  Def(env, e, "narrow", Narrow);
  Def(env, e, "asStrided", AsStrided);
  Def(env, e, "indexSelect", IndexSelect);
  Def(env, e, "gather", Gather);
  Def(env, e, "maskedSelect", MaskedSelect);
  Def(env, e, "cat", Cat);
  Def(env, e, "stack", Stack);
  Def(env, e, "split", Split);
  Def(env, e, "pad", Pad);
  Def(env, e, "toDtype", ToDtype);
  Def(env, e, "toDevice", ToDevice);
  Def(env, e, "copyInplace", CopyInplace);
  Def(env, e, "fillInplace", FillInplace);
  Def(env, e, "zeroInplace", ZeroInplace);
  Def(env, e, "oneHot", OneHot);
}

}  // namespace snn
