// Argument reading for op calls. Types are validated in TypeScript first; these checks are the last line of defence,
// so that a wrong call from JS becomes an SnnkitError instead of a crash.
#include "common.h"

namespace snn {

static std::string Nth(size_t i) { return "argument " + std::to_string(i); }

bool Args::isNullish(size_t i) const { return i >= info_.Length() || info_[i].IsUndefined() || info_[i].IsNull(); }

TensorWrap* Args::wrap(size_t i) const {
  if (i >= info_.Length() || !info_[i].IsObject()) fail("INVALID_ARGUMENT", Nth(i) + " must be a tensor");
  Napi::Object o = info_[i].As<Napi::Object>();
  if (!o.InstanceOf(Data(env()).tensorCtor.Value())) fail("INVALID_ARGUMENT", Nth(i) + " must be a tensor");
  TensorWrap* w = TensorWrap::Unwrap(o);
  if (!w->live()) fail("DISPOSED", Nth(i) + " is a tensor that was already disposed");
  return w;
}

bool Args::isTensor(size_t i) const {
  return i < info_.Length() && info_[i].IsObject() &&
         info_[i].As<Napi::Object>().InstanceOf(Data(env()).tensorCtor.Value());
}

at::Tensor Args::tensor(size_t i) {
  at::Tensor t = wrap(i)->tensor();
  seen_.push_back(t);
  return t;
}

c10::optional<at::Tensor> Args::optTensor(size_t i) {
  if (isNullish(i)) return c10::nullopt;
  return tensor(i);
}

std::vector<at::Tensor> Args::tensors(size_t i) {
  if (i >= info_.Length() || !info_[i].IsArray()) fail("INVALID_ARGUMENT", Nth(i) + " must be an array of tensors");
  Napi::Array a = info_[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(Data(env()).tensorCtor.Value()))
      fail("INVALID_ARGUMENT", Nth(i) + "[" + std::to_string(k) + "] must be a tensor");
    TensorWrap* w = TensorWrap::Unwrap(v.As<Napi::Object>());
    if (!w->live()) fail("DISPOSED", Nth(i) + "[" + std::to_string(k) + "] was already disposed");
    out.push_back(w->tensor());
    seen_.push_back(w->tensor());
  }
  return out;
}

double Args::f64(size_t i) const {
  if (i >= info_.Length() || !info_[i].IsNumber()) fail("INVALID_ARGUMENT", Nth(i) + " must be a number");
  return info_[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> Args::optF64(size_t i) const {
  if (isNullish(i)) return c10::nullopt;
  return f64(i);
}

int64_t Args::i64(size_t i) const {
  if (i >= info_.Length() || !info_[i].IsNumber()) fail("INVALID_ARGUMENT", Nth(i) + " must be an integer");
  return info_[i].As<Napi::Number>().Int64Value();
}

bool Args::boolean(size_t i) const {
  if (i >= info_.Length() || !info_[i].IsBoolean()) fail("INVALID_ARGUMENT", Nth(i) + " must be a boolean");
  return info_[i].As<Napi::Boolean>().Value();
}

std::string Args::str(size_t i) const {
  if (i >= info_.Length() || !info_[i].IsString()) fail("INVALID_ARGUMENT", Nth(i) + " must be a string");
  return info_[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> Args::ints(size_t i) const {
  if (i >= info_.Length() || !info_[i].IsArray()) fail("INVALID_ARGUMENT", Nth(i) + " must be an array of integers");
  Napi::Array a = info_[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) fail("INVALID_ARGUMENT", Nth(i) + "[" + std::to_string(k) + "] must be an integer");
    out[k] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

at::ScalarType Args::dtype(size_t i) const {
  std::string s = str(i);
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "int64") return at::kLong;
  if (s == "int32") return at::kInt;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  fail("INVALID_ARGUMENT", Nth(i) + " must be one of float32, float64, int64, int32, uint8, bool; got '" + s + "'");
}

c10::optional<at::Generator> Args::generator(size_t i) const {
  if (isNullish(i)) return c10::nullopt;
  if (!info_[i].IsObject() || !info_[i].As<Napi::Object>().InstanceOf(Data(env()).generatorCtor.Value()))
    fail("INVALID_ARGUMENT", Nth(i) + " must be a Generator");
  return GeneratorWrap::Unwrap(info_[i].As<Napi::Object>())->gen;
}

at::Scalar Args::scalar(size_t i) const {
  if (i < info_.Length() && info_[i].IsBoolean()) return at::Scalar(info_[i].As<Napi::Boolean>().Value());
  return at::Scalar(f64(i));
}

std::pair<const uint8_t*, size_t> Args::bytes(size_t i) const {
  if (i < info_.Length() && info_[i].IsTypedArray()) {
    Napi::TypedArray ta = info_[i].As<Napi::TypedArray>();
    const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data());
    return {base + ta.ByteOffset(), ta.ByteLength()};
  }
  if (i < info_.Length() && info_[i].IsArrayBuffer()) {
    Napi::ArrayBuffer ab = info_[i].As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(ab.Data()), ab.ByteLength()};
  }
  fail("INVALID_ARGUMENT", Nth(i) + " must be a typed array or ArrayBuffer");
}

std::string Args::describeInputs() const {
  std::string s;
  for (size_t i = 0; i < seen_.size(); ++i) s += (i ? ", " : "") + Describe(seen_[i]);
  return s;
}

void Args::fail(const std::string& code, const std::string& msg) const {
  throw MakeError(env(), code, std::string(op_) + ": " + msg);
}

}  // namespace snn
