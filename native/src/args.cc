// Argument reading for op calls. Types are validated in TypeScript first; these checks are the last line of defence,
// so that a wrong call from JS becomes an SnnkitError instead of a crash.
#include "common.h"
#include <cmath>

namespace snn {

static std::string Nth(size_t i) { return "argument " + std::to_string(i); }

bool Args::isNullish(size_t i) const { return i >= info_.Length() || info_[i].IsUndefined() || info_[i].IsNull(); }

at::Tensor Args::tensor(size_t i) {
  if (i >= info_.Length() || !info_[i].IsNumber()) fail("INVALID_ARGUMENT", Nth(i) + " must be a tensor");
  const at::Tensor* t = table::Lookup(info_[i].As<Napi::Number>().DoubleValue());
  if (!t) fail("DISPOSED", Nth(i) + " is a tensor that was already disposed");
  seen_.push_back(*t);
  return *t;
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
    const at::Tensor* t = v.IsNumber() ? table::Lookup(v.As<Napi::Number>().DoubleValue()) : nullptr;
    if (!t) fail(v.IsNumber() ? "DISPOSED" : "INVALID_ARGUMENT",
                 Nth(i) + "[" + std::to_string(k) + (v.IsNumber() ? "] was already disposed" : "] must be a tensor"));
    out.push_back(*t);
    seen_.push_back(*t);
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
  if (s == "int8") return at::kChar;
  if (s == "bool") return at::kBool;
  fail("INVALID_ARGUMENT", Nth(i) + " must be one of float32, float64, int64, int32, int8, uint8, bool; got '" + s + "'");
}

c10::optional<at::Generator> Args::generator(size_t i) const {
  if (isNullish(i)) return c10::nullopt;
  if (!info_[i].IsObject() || !info_[i].As<Napi::Object>().InstanceOf(Data(env()).generatorCtor.Value()))
    fail("INVALID_ARGUMENT", Nth(i) + " must be a Generator");
  return GeneratorWrap::Unwrap(info_[i].As<Napi::Object>())->gen;
}

at::Scalar Args::scalar(size_t i) const {
  if (i < info_.Length() && info_[i].IsBoolean()) return at::Scalar(info_[i].As<Napi::Boolean>().Value());
  // Integral numbers become integer scalars, as Python's `2` does: `int_tensor.add_(1)` stays int64,
  // while `float_tensor.mul(2)` is still float (a scalar never promotes a tensor's category).
  double v = f64(i);
  if (std::nearbyint(v) == v && std::abs(v) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
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
