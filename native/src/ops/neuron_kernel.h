// The per-element arithmetic of the fused IF/LIF kernels, shared by the plain neuron (neuron.cc) and the batch-norm +
// neuron kernel (bn_neuron.cc), so that both compute bit for bit the same dynamics (src/functional/neuron.ts):
//   u[t] = alpha * v[t-1] + x[t];  s[t] = H(u[t] - V_th) (H(0) = 1);  out[t] = A * s[t] (A = 1 or V_th)
//   soft: v[t] = u[t] - s[t] * V_th;   hard: v[t] = u[t] * (1 - s[t]) + v_reset * s[t]
#pragma once
#include "common.h"
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

namespace snn {
namespace neuron {

struct Opts {
  bool hard;           // reset mode
  double vReset;       // hard reset target
  bool ampVth;         // spikes carry V_th instead of 1
  bool detachReset;    // the reset path does not carry gradient
  int surrogate;       // surrogate::Kind
  double param;        // its parameter
};

// Stores the options in an autograd context, and reads them back.
inline void SaveOpts(torch::autograd::AutogradContext* ctx, const Opts& o) {
  auto& d = ctx->saved_data;
  d["hard"] = o.hard;
  d["vReset"] = o.vReset;
  d["ampVth"] = o.ampVth;
  d["detachReset"] = o.detachReset;
  d["surrogate"] = static_cast<int64_t>(o.surrogate);
  d["param"] = o.param;
}
inline Opts LoadOpts(torch::autograd::AutogradContext* ctx) {
  auto& d = ctx->saved_data;
  return {d["hard"].toBool(), d["vReset"].toDouble(), d["ampVth"].toBool(), d["detachReset"].toBool(),
          static_cast<int>(d["surrogate"].toInt()), d["param"].toDouble()};
}

// A per-element view of a tensor broadcast to the state shape: a constant when it has one element.
template <typename T>
struct Bcast {
  const T* p = nullptr;
  T c = 0;
  T operator[](int64_t e) const { return p ? p[e] : c; }
};
// `strides`: the memory order of one step of the sequence the kernel runs over (empty: contiguous); the per-element
// values are laid out in that order, so that element e of the kernel's flat loop meets its own value.
template <typename T>
Bcast<T> MakeBcast(const at::Tensor& t, at::IntArrayRef state, at::Tensor& keep, at::IntArrayRef strides = {}) {
  Bcast<T> b;
  if (!t.defined()) return b;
  if (t.numel() == 1) {
    b.c = t.item<T>();
    return b;
  }
  if (strides.empty()) {
    keep = t.expand(state).contiguous();
  } else if (t.sizes() == state && t.strides() == strides) {
    keep = t;
  } else {
    keep = at::empty_strided(state, strides, t.options());
    keep.copy_(t.expand(state));
  }
  b.p = keep.data_ptr<T>();
  return b;
}

// Whether a sequence [T, ...] can run as it lies in memory: each step one dense block (any dimension order, such as
// channels-last), the steps one after another. The kernels are elementwise, so such input needs no copy.
inline bool StepsDense(const at::Tensor& x) {
  if (x.dim() < 2 || x.numel() == 0) return x.is_contiguous();
  const int64_t E = x.numel() / x.size(0);
  return (x.size(0) == 1 || x.stride(0) == E) && x.select(0, 0).is_non_overlapping_and_dense();
}

// The data of an optional output (a gradient nobody asked for is not allocated).
template <typename T>
T* PtrOrNull(const at::Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// A threshold, initial potential or count: one value, or a tensor that broadcasts to one step's state (undefined: none).
inline void CheckBroadcast(Args& a, const at::Tensor& t, at::IntArrayRef state, const char* name) {
  if (!t.defined() || t.numel() == 1) return;
  if (t.dim() > static_cast<int64_t>(state.size())) a.fail("SHAPE_MISMATCH", std::string(name) + " " + Describe(t) + " has more dims than the state");
  for (int64_t i = 1; i <= t.dim(); ++i) {
    int64_t ts = t.size(t.dim() - i), ss = state[state.size() - i];
    if (ts != 1 && ts != ss)
      a.fail("SHAPE_MISMATCH", std::string(name) + " " + Describe(t) + " does not broadcast to the state shape of one step");
  }
}

constexpr int64_t kGrain = 2048;
// Elements are processed in blocks: the block's membranes live in a local array while the time loop streams through
// each step's contiguous slice, so memory access is sequential and the inner loop vectorizes.
constexpr int64_t kBlock = 256;

// One step of one element: integrates x into v, writes the pre-reset membrane to u, resets v, returns the output.
// Branch-free (spikes are data-dependent and mispredicted ~half the time as branches) and vectorizable. With s in
// {0, 1} both resets are exact: s * vr + (1 - s) * u is vr or u, as in the step function.
template <typename T, bool HARD, bool AMPVTH>
inline T FireStep(T& v, T x, T h, T a, T vr, T& u) {
  u = a * v + x;
  const T s = static_cast<T>(u >= h);
  v = HARD ? s * vr + (T(1) - s) * u : u - s * h;
  return AMPVTH ? s * h : s;
}

// The options of the backward step as exact 0/1 factors instead of branches (x * 1 = x, x + (+-0) = x for finite x),
// so that the inner loop vectorizes.
template <typename T, typename G>
struct BackCoef {
  T kHard, kSoft, kAmp, kOne, kKeep, a, vr;
  G surr;
  BackCoef(const Opts& o, double alpha, const G& g)
      : kHard(o.hard ? T(1) : T(0)), kSoft(T(1) - kHard), kAmp(o.ampVth ? T(1) : T(0)), kOne(T(1) - kAmp),
        kKeep(o.detachReset ? T(0) : T(1)), a(T(alpha)), vr(T(o.vReset)), surr(g) {}
  // v[t-1] after its reset, from u[t-1]
  T AfterReset(T p, T h) const {
    const T s1 = static_cast<T>(p >= h);
    return kHard * (s1 * vr + (T(1) - s1) * p) + kSoft * (p - s1 * h);
  }
  // One step backward through time for one element: u = u[t], h = V_th, go = dL/dout[t], prev = v[t-1] (after its
  // reset; v0 at t = 0). g carries dL/dv[t] in and dL/dv[t-1] out; gh and ga accumulate dL/dV_th and dL/dalpha.
  // Returns dL/dx[t] (= dL/du[t]).
  T Step(T u, T h, T go, T prev, T& g, T& gh, T& ga) const {
    const T s = static_cast<T>(u >= h);
    const T sg = surr(u - h);
    const T amp = kAmp * h + kOne;                         // A = V_th or 1
    const T dvds = kKeep * (kHard * (vr - u) - kSoft * h);  // dv/ds (0 when the reset is detached)
    const T dvdu = T(1) - kHard * s;                        // dv/du
    const T gs = go * amp + g * dvds;
    const T gu = gs * sg + g * dvdu;
    gh += -gs * sg + kAmp * go * s - kSoft * g * s;
    ga += gu * prev;                                        // du/dalpha = v[t-1]
    g = a * gu;
    return gu;
  }
};

}  // namespace neuron
}  // namespace snn
