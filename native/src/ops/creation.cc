// Tensor creation, copies between JS memory and tensors, random numbers.
#include "common.h"
#include <cstring>

namespace snn {
namespace {

at::TensorOptions Opts(at::ScalarType dt) { return at::TensorOptions().dtype(dt); }

// (bytes, shape, dtype): the bytes are copied, so JS may reuse its array afterwards.
Napi::Value FromBuffer(Args& a) {
  auto [ptr, len] = a.bytes(0);
  std::vector<int64_t> shape = a.ints(1);
  at::Tensor t = at::empty(shape, Opts(a.dtype(2)));
  size_t need = static_cast<size_t>(t.numel()) * t.element_size();
  if (need != len)
    a.fail("SHAPE_MISMATCH", "data has " + std::to_string(len) + " bytes but shape " + Describe(t) + " needs " +
                                 std::to_string(need));
  if (need) std::memcpy(t.data_ptr(), ptr, need);
  return Ret(a.env(), t);
}

// (t) → ArrayBuffer holding a contiguous CPU copy of t's elements.
Napi::Value ToBuffer(Args& a) {
  at::Tensor t = a.tensor(0).detach().to(at::kCPU).contiguous();
  size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(a.env(), n);
  if (n) std::memcpy(ab.Data(), t.data_ptr(), n);
  return ab;
}

Napi::Value Item(Args& a) {
  at::Tensor t = a.tensor(0);
  if (t.numel() != 1) a.fail("SHAPE_MISMATCH", "item() needs a tensor with exactly one element, got " + Describe(t));
  return Napi::Number::New(a.env(), t.item<double>());
}

Napi::Value Zeros(Args& a) { return Ret(a.env(), at::zeros(a.ints(0), Opts(a.dtype(1)))); }
Napi::Value Ones(Args& a) { return Ret(a.env(), at::ones(a.ints(0), Opts(a.dtype(1)))); }
Napi::Value Empty(Args& a) { return Ret(a.env(), at::empty(a.ints(0), Opts(a.dtype(1)))); }
Napi::Value Full(Args& a) { return Ret(a.env(), at::full(a.ints(0), a.scalar(1), Opts(a.dtype(2)))); }
Napi::Value ZerosLike(Args& a) { return Ret(a.env(), at::zeros_like(a.tensor(0))); }
Napi::Value OnesLike(Args& a) { return Ret(a.env(), at::ones_like(a.tensor(0))); }
Napi::Value FullLike(Args& a) { return Ret(a.env(), at::full_like(a.tensor(0), a.scalar(1))); }
Napi::Value Arange(Args& a) {
  return Ret(a.env(), at::arange(a.scalar(0), a.scalar(1), a.scalar(2), Opts(a.dtype(3))));
}
Napi::Value Linspace(Args& a) { return Ret(a.env(), at::linspace(a.scalar(0), a.scalar(1), a.i64(2), Opts(a.dtype(3)))); }
Napi::Value Eye(Args& a) { return Ret(a.env(), at::eye(a.i64(0), Opts(a.dtype(1)))); }

// Random: (shape, dtype, generator?) — without a generator the default one (seeded by manualSeed) is used.
Napi::Value Rand(Args& a) { return Ret(a.env(), at::rand(a.ints(0), a.generator(2), Opts(a.dtype(1)))); }
Napi::Value Randn(Args& a) { return Ret(a.env(), at::randn(a.ints(0), a.generator(2), Opts(a.dtype(1)))); }
Napi::Value Randint(Args& a) {
  return Ret(a.env(), at::randint(a.i64(0), a.i64(1), a.ints(2), a.generator(4), Opts(a.dtype(3))));
}
Napi::Value Randperm(Args& a) { return Ret(a.env(), at::randperm(a.i64(0), a.generator(1), Opts(at::kLong))); }
Napi::Value Bernoulli(Args& a) { return Ret(a.env(), at::bernoulli(a.tensor(0), a.generator(1))); }
Napi::Value UniformInplace(Args& a) {
  at::Tensor t = a.tensor(0);
  t.uniform_(a.f64(1), a.f64(2), a.generator(3));
  return a.env().Undefined();
}
Napi::Value NormalInplace(Args& a) {
  at::Tensor t = a.tensor(0);
  t.normal_(a.f64(1), a.f64(2), a.generator(3));
  return a.env().Undefined();
}

}  // namespace

void InitCreation(Napi::Env env, Napi::Object e) {
  Def(env, e, "fromBuffer", FromBuffer);
  Def(env, e, "toBuffer", ToBuffer);
  Def(env, e, "item", Item);
  Def(env, e, "zeros", Zeros);
  Def(env, e, "ones", Ones);
  Def(env, e, "empty", Empty);
  Def(env, e, "full", Full);
  Def(env, e, "zerosLike", ZerosLike);
  Def(env, e, "onesLike", OnesLike);
  Def(env, e, "fullLike", FullLike);
  Def(env, e, "arange", Arange);
  Def(env, e, "linspace", Linspace);
  Def(env, e, "eye", Eye);
  Def(env, e, "rand", Rand);
  Def(env, e, "randn", Randn);
  Def(env, e, "randint", Randint);
  Def(env, e, "randperm", Randperm);
  Def(env, e, "bernoulli", Bernoulli);
  Def(env, e, "uniformInplace", UniformInplace);
  Def(env, e, "normalInplace", NormalInplace);
}

}  // namespace snn
