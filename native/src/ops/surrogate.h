// Surrogate gradients of the spike function H(x) (x = u - V_th): the forward is always the true step, the backward
// replaces dH/dx by g(x). One functor per surrogate; the fused neuron kernels and the single-step spike op share them.
// Formulas: docs/methods.md §2 (rectangle, triangle, exponential, sigmoid, arctangent) and Dspike (Li et al., NeurIPS 2021).
#pragma once
#include <cmath>
#include <string>

namespace snn {
namespace surrogate {

enum Kind { RECTANGLE = 0, TRIANGLE = 1, EXPONENTIAL = 2, SIGMOID = 3, ATAN = 4, DSPIKE = 5 };

// (1/a) [|x| < a/2]
struct Rectangle {
  double a;
  template <typename T> T operator()(T x) const { return std::abs(x) < a / 2 ? T(1 / a) : T(0); }
};
// (1/g^2) max(g - |x|, 0)
struct Triangle {
  double g;
  template <typename T> T operator()(T x) const {
    T d = T(g) - std::abs(x);
    return d > 0 ? d / T(g * g) : T(0);
  }
};
// (k/2) exp(-k |x|)
struct Exponential {
  double k;
  template <typename T> T operator()(T x) const { return T(k / 2) * std::exp(-T(k) * std::abs(x)); }
};
// k sig(kx) (1 - sig(kx))
struct Sigmoid {
  double k;
  template <typename T> T operator()(T x) const {
    T s = T(1) / (T(1) + std::exp(-T(k) * x));
    return T(k) * s * (T(1) - s);
  }
};
// (a/2) / (1 + (pi/2 a x)^2)
struct Atan {
  double a;
  template <typename T> T operator()(T x) const {
    T z = T(M_PI / 2 * a) * x;
    return T(a / 2) / (T(1) + z * z);
  }
};
// b (1 - tanh^2(b x)) / (2 tanh(b/2)) on |x| <= 1/2, 0 outside
struct Dspike {
  double b;
  template <typename T> T operator()(T x) const {
    T t = std::tanh(T(b) * x);
    return std::abs(x) <= T(0.5) ? T(b) * (T(1) - t * t) / T(2 * std::tanh(b / 2)) : T(0);
  }
};

// Calls f(functor) with the surrogate selected by (kind, param): the kernels are instantiated once per surrogate,
// so the inner loops stay branch-free.
template <typename F>
void Dispatch(int kind, double param, F&& f) {
  switch (kind) {
    case RECTANGLE: f(Rectangle{param}); break;
    case TRIANGLE: f(Triangle{param}); break;
    case EXPONENTIAL: f(Exponential{param}); break;
    case SIGMOID: f(Sigmoid{param}); break;
    case ATAN: f(Atan{param}); break;
    case DSPIKE: f(Dspike{param}); break;
    default: throw std::invalid_argument("unknown surrogate kind " + std::to_string(kind));
  }
}

}  // namespace surrogate
}  // namespace snn
