// Broadcasting elementwise arithmetic, comparisons and unary functions, out-of-place and in place.
// Ops are selected by a small integer code (the table lives in src/native/binding.ts) to keep the export surface small.
#include "common.h"

namespace snn {
namespace {

enum Binary { ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, EQ, NE, LT, LE, GT, GE, AND, OR, REMAINDER, FLOORDIV, ATAN2 };

at::Tensor AsTensor(Args& a, size_t i, const at::Tensor& like) {
  if (a.isTensor(i)) return a.tensor(i);
  return at::scalar_tensor(a.scalar(i), like.options().dtype(like.scalar_type() == at::kBool ? at::kBool : like.scalar_type()));
}

at::Tensor BinaryOp(int code, const at::Tensor& x, Args& a, size_t bi, const at::Scalar& alpha) {
  if (!a.isTensor(bi)) {
    at::Scalar s = a.scalar(bi);
    switch (code) {
      case ADD: return at::add(x, s, alpha);
      case SUB: return at::sub(x, s, alpha);
      case MUL: return at::mul(x, s);
      case DIV: return at::div(x, s);
      case POW: return at::pow(x, s);
      case MAXIMUM: return at::clamp_min(x, s);
      case MINIMUM: return at::clamp_max(x, s);
      case EQ: return at::eq(x, s);
      case NE: return at::ne(x, s);
      case LT: return at::lt(x, s);
      case LE: return at::le(x, s);
      case GT: return at::gt(x, s);
      case GE: return at::ge(x, s);
      case REMAINDER: return at::remainder(x, s);
      case FLOORDIV: return at::div(x, s, "floor");
      default: break;
    }
  }
  at::Tensor y = AsTensor(a, bi, x);
  switch (code) {
    case ADD: return at::add(x, y, alpha);
    case SUB: return at::sub(x, y, alpha);
    case MUL: return at::mul(x, y);
    case DIV: return at::div(x, y);
    case POW: return at::pow(x, y);
    case MAXIMUM: return at::maximum(x, y);
    case MINIMUM: return at::minimum(x, y);
    case EQ: return at::eq(x, y);
    case NE: return at::ne(x, y);
    case LT: return at::lt(x, y);
    case LE: return at::le(x, y);
    case GT: return at::gt(x, y);
    case GE: return at::ge(x, y);
    case AND: return at::logical_and(x, y);
    case OR: return at::logical_or(x, y);
    case REMAINDER: return at::remainder(x, y);
    case FLOORDIV: return at::div(x, y, "floor");
    case ATAN2: return at::atan2(x, y);
  }
  a.fail("INVALID_ARGUMENT", "unknown binary op code " + std::to_string(code));
}

// (code, a, b: tensor | number, mask, alpha?)
Napi::Value BinaryFn(Args& a) {
  a.readMask(3);
  int code = static_cast<int>(a.i64(0));
  at::Tensor x = a.tensor(1);
  at::Scalar alpha = a.isNullish(4) ? at::Scalar(int64_t(1)) : a.scalar(4);
  return Ret(a.env(), BinaryOp(code, x, a, 2, alpha));
}

Napi::Value BinaryInplace(Args& a) {
  a.readMask(3);
  int code = static_cast<int>(a.i64(0));
  at::Tensor x = a.tensor(1);
  at::Scalar alpha = a.isNullish(4) ? at::Scalar(int64_t(1)) : a.scalar(4);
  if (a.isTensor(2)) {
    at::Tensor y = a.tensor(2);
    switch (code) {
      case ADD: x.add_(y, alpha); break;
      case SUB: x.sub_(y, alpha); break;
      case MUL: x.mul_(y); break;
      case DIV: x.div_(y); break;
      case POW: x.pow_(y); break;
      case MAXIMUM: at::maximum_out(x, x, y); break;
      case MINIMUM: at::minimum_out(x, x, y); break;
      default: a.fail("INVALID_ARGUMENT", "op code " + std::to_string(code) + " has no in-place form");
    }
  } else {
    at::Scalar s = a.scalar(2);
    switch (code) {
      case ADD: x.add_(s, alpha); break;
      case SUB: x.sub_(s, alpha); break;
      case MUL: x.mul_(s); break;
      case DIV: x.div_(s); break;
      case POW: x.pow_(s); break;
      case MAXIMUM: x.clamp_min_(s); break;
      case MINIMUM: x.clamp_max_(s); break;
      default: a.fail("INVALID_ARGUMENT", "op code " + std::to_string(code) + " has no in-place form");
    }
  }
  return a.env().Undefined();
}

enum Unary { NEG, ABS, SIGN, FLOOR, CEIL, ROUND, TRUNC, RELU, SIGMOID, TANH, EXP, LOG, SQRT, RSQRT, RECIPROCAL, SQUARE,
             NOT, SIN, COS, LOG1P, EXPM1, ERF, ISNAN, ISFINITE, ATAN };

at::Tensor UnaryOp(int code, const at::Tensor& x, Args& a) {
  switch (code) {
    case NEG: return at::neg(x);
    case ABS: return at::abs(x);
    case SIGN: return at::sign(x);
    case FLOOR: return at::floor(x);
    case CEIL: return at::ceil(x);
    case ROUND: return at::round(x);
    case TRUNC: return at::trunc(x);
    case RELU: return at::relu(x);
    case SIGMOID: return at::sigmoid(x);
    case TANH: return at::tanh(x);
    case EXP: return at::exp(x);
    case LOG: return at::log(x);
    case SQRT: return at::sqrt(x);
    case RSQRT: return at::rsqrt(x);
    case RECIPROCAL: return at::reciprocal(x);
    case SQUARE: return at::square(x);
    case NOT: return at::logical_not(x);
    case SIN: return at::sin(x);
    case COS: return at::cos(x);
    case LOG1P: return at::log1p(x);
    case EXPM1: return at::expm1(x);
    case ERF: return at::erf(x);
    case ISNAN: return at::isnan(x);
    case ISFINITE: return at::isfinite(x);
    case ATAN: return at::atan(x);
  }
  a.fail("INVALID_ARGUMENT", "unknown unary op code " + std::to_string(code));
}

Napi::Value UnaryFn(Args& a) {
  int code = static_cast<int>(a.i64(0));
  return Ret(a.env(), UnaryOp(code, a.tensor(1), a));
}

Napi::Value UnaryInplace(Args& a) {
  int code = static_cast<int>(a.i64(0));
  at::Tensor x = a.tensor(1);
  switch (code) {
    case NEG: x.neg_(); break;
    case ABS: x.abs_(); break;
    case FLOOR: x.floor_(); break;
    case CEIL: x.ceil_(); break;
    case ROUND: x.round_(); break;
    case RELU: x.relu_(); break;
    case SIGMOID: x.sigmoid_(); break;
    case TANH: x.tanh_(); break;
    case EXP: x.exp_(); break;
    case SQRT: x.sqrt_(); break;
    case RECIPROCAL: x.reciprocal_(); break;
    default: a.fail("INVALID_ARGUMENT", "unary op code " + std::to_string(code) + " has no in-place form");
  }
  return a.env().Undefined();
}

// (cond, a: tensor | number, b: tensor | number, mask)
Napi::Value Where(Args& a) {
  a.readMask(3);
  at::Tensor c = a.tensor(0);
  at::Tensor ref = a.isTensor(1) ? a.tensor(1) : a.isTensor(2) ? a.tensor(2) : at::empty({}, at::kFloat);
  at::Tensor x = AsTensor(a, 1, ref), y = AsTensor(a, 2, ref);
  return Ret(a.env(), at::where(c, x, y));
}

// (t, min?: tensor | number, max?: tensor | number, mask)
Napi::Value Clamp(Args& a) {
  a.readMask(3);
  at::Tensor x = a.tensor(0);
  if (a.isTensor(1) || a.isTensor(2)) {
    c10::optional<at::Tensor> lo = a.isNullish(1) ? c10::nullopt : c10::optional<at::Tensor>(AsTensor(a, 1, x));
    c10::optional<at::Tensor> hi = a.isNullish(2) ? c10::nullopt : c10::optional<at::Tensor>(AsTensor(a, 2, x));
    return Ret(a.env(), at::clamp(x, lo, hi));
  }
  c10::optional<at::Scalar> lo, hi;
  if (!a.isNullish(1)) lo = a.scalar(1);
  if (!a.isNullish(2)) hi = a.scalar(2);
  return Ret(a.env(), at::clamp(x, lo, hi));
}

Napi::Value ClampInplace(Args& a) {
  at::Tensor x = a.tensor(0);
  c10::optional<at::Scalar> lo, hi;
  if (!a.isNullish(1)) lo = a.scalar(1);
  if (!a.isNullish(2)) hi = a.scalar(2);
  x.clamp_(lo, hi);
  return a.env().Undefined();
}

// Fused updates used by the optimizers: t += value * a * b, t += value * a / b, t = lerp(t, end, weight).
Napi::Value AddcmulInplace(Args& a) {
  at::Tensor t = a.tensor(0);
  at::Tensor x = a.tensor(1), y = a.tensor(2);
  t.addcmul_(x, y, a.f64(3));
  return a.env().Undefined();
}
Napi::Value AddcdivInplace(Args& a) {
  at::Tensor t = a.tensor(0);
  at::Tensor x = a.tensor(1), y = a.tensor(2);
  t.addcdiv_(x, y, a.f64(3));
  return a.env().Undefined();
}
Napi::Value LerpInplace(Args& a) {
  at::Tensor t = a.tensor(0);
  t.lerp_(a.tensor(1), a.f64(2));
  return a.env().Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object e) {
  Def(env, e, "binary", BinaryFn);
  Def(env, e, "binaryInplace", BinaryInplace);
  Def(env, e, "unary", UnaryFn);
  Def(env, e, "unaryInplace", UnaryInplace);
  Def(env, e, "where", Where);
  Def(env, e, "clamp", Clamp);
  Def(env, e, "clampInplace", ClampInplace);
  Def(env, e, "addcmulInplace", AddcmulInplace);
  Def(env, e, "addcdivInplace", AddcdivInplace);
  Def(env, e, "lerpInplace", LerpInplace);
}

}  // namespace snn
