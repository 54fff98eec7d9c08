// Fused IF/LIF neuron kernels over [T, N, ...] inputs, forward and backward through time, as a libtorch autograd
// function. The equations are those of the single-step function in src/functional/neuron.ts (docs/methods.md §1):
//   u[t] = alpha * v[t-1] + x[t];  s[t] = H(u[t] - V_th) (H(0) = 1);  out[t] = A * s[t] (A = 1 or V_th)
//   soft: v[t] = u[t] - s[t] * V_th;   hard: v[t] = u[t] * (1 - s[t]) + v_reset * s[t]
// One pass per element over all T steps with the membrane in a register. For BPTT only u[t] is stored (the spikes
// are recomputed as u[t] >= V_th), so memory is one tensor of the input's size. The parity test
// (test/neurons/parity.test.ts) checks this file against the single-step function.
#include "common.h"
#include "neuron_kernel.h"
#include "surrogate.h"
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <type_traits>

namespace snn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using neuron::Bcast;
using neuron::MakeBcast;
using neuron::Opts;
using neuron::kBlock;
using neuron::kGrain;

// Forward over all steps; U (pre-reset membrane) is written when STORE.
template <typename T, bool HARD, bool STORE, bool AMPVTH>
void ForwardBlocks(const T* xp, T* op, T* up, T* vp, Bcast<T> v0b, Bcast<T> th, T a, T vr, int64_t steps, int64_t E) {
  at::parallel_for(0, E, kGrain, [&](int64_t begin, int64_t end) {
    T v[kBlock], h[kBlock];
    for (int64_t e0 = begin; e0 < end; e0 += kBlock) {
      const int64_t n = std::min(kBlock, end - e0);
      for (int64_t j = 0; j < n; ++j) {
        v[j] = v0b[e0 + j];
        h[j] = th[e0 + j];
      }
      for (int64_t t = 0; t < steps; ++t) {
        const T* __restrict__ x = xp + t * E + e0;
        T* __restrict__ o = op + t * E + e0;
        T* __restrict__ u_ = STORE ? up + t * E + e0 : nullptr;
        for (int64_t j = 0; j < n; ++j) {
          T u;
          o[j] = neuron::FireStep<T, HARD, AMPVTH>(v[j], x[j], h[j], a, vr, u);
          if (STORE) u_[j] = u;
        }
      }
      for (int64_t j = 0; j < n; ++j) vp[e0 + j] = v[j];
    }
  });
}

template <typename T>
void ForwardKernel(const at::Tensor& x, const at::Tensor& v0, const at::Tensor& vth, double alpha, const Opts& o,
                   at::Tensor& out, at::Tensor& vT, at::Tensor* U) {
  const int64_t steps = x.size(0), E = x.numel() / steps;
  at::IntArrayRef state = x.sizes().slice(1);
  at::Tensor k1, k2;
  const bool plain = x.is_contiguous();
  const auto order = plain ? at::IntArrayRef() : vT.strides();  // one step's memory order (vT has it)
  Bcast<T> v0b = MakeBcast<T>(v0, state, k1, order), th = MakeBcast<T>(vth, state, k2, order);
  const T* xp = x.data_ptr<T>();
  T *op = out.data_ptr<T>(), *vp = vT.data_ptr<T>(), *up = U ? U->data_ptr<T>() : nullptr;
  const T a = T(alpha), vr = T(o.vReset);
  // One instantiation per (reset, store, amplitude): the inner loop has no data-independent branches.
  auto run = [&](auto hard, auto store, auto amp) {
    ForwardBlocks<T, decltype(hard)::value, decltype(store)::value, decltype(amp)::value>(xp, op, up, vp, v0b, th, a, vr, steps, E);
  };
  using TT = std::true_type;
  using FF = std::false_type;
  auto with_amp = [&](auto hard, auto store) { o.ampVth ? run(hard, store, TT{}) : run(hard, store, FF{}); };
  auto with_store = [&](auto hard) { up ? with_amp(hard, TT{}) : with_amp(hard, FF{}); };
  o.hard ? with_store(TT{}) : with_store(FF{});
}

// Backward through time. Writes gx [T, E] and per-element gv0, gth, galpha (reduced by the caller).
template <typename T, typename G>
void BackwardKernel(const at::Tensor& U, const at::Tensor& v0, const at::Tensor& vth, double alpha, const Opts& o,
                    const G& surr, const at::Tensor& gout, const at::Tensor& gvT, at::Tensor& gx, at::Tensor& gv0,
                    at::Tensor& gth, at::Tensor& galpha) {
  const int64_t steps = U.size(0), E = U.numel() / steps;
  at::IntArrayRef state = U.sizes().slice(1);
  at::Tensor k1, k2;
  Bcast<T> v0b = MakeBcast<T>(v0, state, k1), th = MakeBcast<T>(vth, state, k2);
  const T* up = U.data_ptr<T>();
  const T* gop = gout.defined() ? gout.data_ptr<T>() : nullptr;
  const T* gvp = gvT.defined() ? gvT.data_ptr<T>() : nullptr;
  T* gxp = gx.data_ptr<T>();
  T *gv0p = neuron::PtrOrNull<T>(gv0), *gthp = neuron::PtrOrNull<T>(gth), *gap = neuron::PtrOrNull<T>(galpha);
  const neuron::BackCoef<T, G> c(o, alpha, surr);
  at::parallel_for(0, E, kGrain, [&](int64_t begin, int64_t end) {
    // Loop-invariant cases are data, not branches, so the inner loop vectorizes: a missing output gradient reads a
    // block of zeros, and the first step reads the block's v0 where later steps read the previous membrane.
    T gv[kBlock], gh[kBlock], ga[kBlock], h[kBlock], v0blk[kBlock], zeros[kBlock] = {};
    const neuron::BackCoef<T, G> c_ = c;
    for (int64_t e0 = begin; e0 < end; e0 += kBlock) {
      const int64_t n = std::min(kBlock, end - e0);
      for (int64_t j = 0; j < n; ++j) {
        gv[j] = gvp ? gvp[e0 + j] : T(0);
        gh[j] = 0;
        ga[j] = 0;
        h[j] = th[e0 + j];
        v0blk[j] = v0b[e0 + j];
      }
      for (int64_t t = steps - 1; t >= 0; --t) {
        const T* __restrict__ u_ = up + t * E + e0;
        const T* __restrict__ go_ = gop ? gop + t * E + e0 : zeros;
        const bool first = t == 0;
        const T* __restrict__ prev = first ? v0blk : up + (t - 1) * E + e0;
        T* __restrict__ gx_ = gxp + t * E + e0;
        const T kFirst = first ? T(1) : T(0), kLater = T(1) - kFirst;
        for (int64_t j = 0; j < n; ++j) {
          const T p = prev[j];
          gx_[j] = c_.Step(u_[j], h[j], go_[j], kFirst * p + kLater * c_.AfterReset(p, h[j]), gv[j], gh[j], ga[j]);
        }
      }
      for (int64_t j = 0; j < n; ++j) {
        if (gv0p) gv0p[e0 + j] = gv[j];
        if (gthp) gthp[e0 + j] = gh[j];
        if (gap) gap[e0 + j] = ga[j];
      }
    }
  });
}

std::vector<at::Tensor> RunForward(const at::Tensor& x, const at::Tensor& v0, const at::Tensor& vth, double alpha,
                                   const Opts& o, at::Tensor* U) {
  // x is contiguous, or (forward without autograd) its steps are dense blocks in another order: the outputs take it
  at::Tensor out = at::empty_like(x);
  at::Tensor vT = x.is_contiguous() ? at::empty(x.sizes().slice(1), x.options()) : at::empty_like(x.select(0, 0));
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "neuronForward", [&] { ForwardKernel<scalar_t>(x, v0, vth, alpha, o, out, vT, U); });
  return {out, vT};
}

struct NeuronSeqFn : public torch::autograd::Function<NeuronSeqFn> {
  static variable_list forward(AutogradContext* ctx, at::Tensor x, at::Tensor v0, at::Tensor vth, at::Tensor alpha,
                               bool hard, double vReset, bool ampVth, bool detachReset, int64_t surrogate, double param) {
    Opts o{hard, vReset, ampVth, detachReset, static_cast<int>(surrogate), param};
    at::Tensor U = at::empty_like(x);
    auto r = RunForward(x, v0, vth, alpha.item<double>(), o, &U);
    ctx->save_for_backward({U, v0, vth, alpha});
    neuron::SaveOpts(ctx, o);
    return r;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &U = saved[0], &v0 = saved[1], &vth = saved[2], &alpha = saved[3];
    Opts o = neuron::LoadOpts(ctx);
    at::Tensor gout = grads[0].defined() ? grads[0].contiguous() : at::Tensor();
    at::Tensor gvT = grads[1].defined() ? grads[1].contiguous() : at::Tensor();
    at::IntArrayRef state = U.sizes().slice(1);
    // Per-element gradients of v0, the threshold and alpha only where they are wanted (each is one step's size).
    auto wanted = [&](const at::Tensor& t) { return t.defined() && t.requires_grad() ? at::empty(state, U.options()) : at::Tensor(); };
    at::Tensor gx = at::empty_like(U), gv0 = wanted(v0), gth = wanted(vth), ga = wanted(alpha);
    AT_DISPATCH_FLOATING_TYPES(U.scalar_type(), "neuronBackward", [&] {
      surrogate::Dispatch(o.surrogate, o.param, [&](auto surr) {
        BackwardKernel<scalar_t>(U, v0, vth, alpha.item<double>(), o, surr, gout, gvT, gx, gv0, gth, ga);
      });
    });
    // Broadcast inputs get the sum of their per-element gradients.
    at::Tensor gv0r = v0.defined() && v0.requires_grad() ? gv0.sum_to_size(v0.sizes()) : at::Tensor();
    at::Tensor gthr = vth.requires_grad() ? gth.sum_to_size(vth.sizes()) : at::Tensor();
    at::Tensor gar = alpha.requires_grad() ? ga.sum().reshape(alpha.sizes()) : at::Tensor();
    return {gx, gv0r, gthr, gar, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// A fused kernel's input: a [T, N, ...] float32/float64 sequence on the CPU. `kernel` names it in the errors.
void CheckSequence(Args& a, const at::Tensor& x, const std::string& kernel, const std::string& elsewhere) {
  if (x.dim() < 2) a.fail("SHAPE_MISMATCH", "input must be [T, N, ...], got " + Describe(x));
  if (x.size(0) < 1) a.fail("SHAPE_MISMATCH", "input must have at least one time step (T >= 1), got " + Describe(x));
  if (!x.is_cpu()) a.fail("DEVICE_ERROR", "the fused " + kernel + " kernel runs on CPU tensors, got " + Describe(x) + elsewhere);
  if (!at::isFloatingType(x.scalar_type()) || x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16)
    a.fail("DTYPE_MISMATCH", "input must be float32 or float64, got " + Describe(x));
}

// (x [T, ...], v0 | null, vth, alpha (0-d), hard, vReset, ampVth, detachReset, surrogateKind, surrogateParam) → [out, vT]
Napi::Value MultiStep(Args& a) {
  at::Tensor x = a.tensor(0);
  at::Tensor v0 = a.isNullish(1) ? at::Tensor() : a.tensor(1);
  at::Tensor vth = a.tensor(2), alpha = a.tensor(3);
  CheckSequence(a, x, "multi-step", " (neuronMultiStep falls back to step-by-step ops there)");
  if (alpha.numel() != 1) a.fail("SHAPE_MISMATCH", "alpha must have one element, got " + Describe(alpha));
  at::IntArrayRef state = x.sizes().slice(1);
  neuron::CheckBroadcast(a, vth, state, "threshold");
  neuron::CheckBroadcast(a, v0, state, "initial potential");
  auto same = [&](const at::Tensor& t) { return t.defined() ? t.to(x.scalar_type()) : t; };
  v0 = same(v0);
  vth = same(vth);
  alpha = same(alpha);
  Opts o{a.boolean(4), a.f64(5), a.boolean(6), a.boolean(7), static_cast<int>(a.i64(8)), a.f64(9)};
  surrogate::Dispatch(o.surrogate, o.param, [](auto) {});  // validates the kind
  bool grad = c10::GradMode::is_enabled() &&
              (x.requires_grad() || (v0.defined() && v0.requires_grad()) || vth.requires_grad() || alpha.requires_grad());
  // Without autograd, steps stored in another dense order (channels-last currents of the 8-bit path) run as they lie.
  if (grad || !neuron::StepsDense(x)) x = x.contiguous();
  if (!grad) return Ret(a.env(), RunForward(x, v0, vth, alpha.item<double>(), o, nullptr));
  if (!v0.defined()) v0 = at::zeros({}, x.options());  // autograd functions take defined tensors only
  auto r = NeuronSeqFn::apply(x, v0, vth, alpha, o.hard, o.vReset, o.ampVth, o.detachReset, static_cast<int64_t>(o.surrogate), o.param);
  return Ret(a.env(), std::vector<at::Tensor>{r[0], r[1]});
}

// Signed IF (src/functional/neuron.ts signedNeuronStep), forward only (training runs the step function):
//   u = v + x;  p = [u >= V_th];  w = u - p V_th;  q = [w < 0][n + p > 0];  v' = w + q V_th;  n' = n + p - q;  out = A (p - q)
template <typename T, bool AMPVTH>
void SignedBlocks(const T* xp, T* op, T* vp, T* np, Bcast<T> v0b, Bcast<T> n0b, Bcast<T> th, int64_t steps, int64_t E) {
  at::parallel_for(0, E, kGrain, [&](int64_t begin, int64_t end) {
    T v[kBlock], c[kBlock], h[kBlock];
    for (int64_t e0 = begin; e0 < end; e0 += kBlock) {
      const int64_t n = std::min(kBlock, end - e0);
      for (int64_t j = 0; j < n; ++j) {
        v[j] = v0b[e0 + j];
        c[j] = n0b[e0 + j];
        h[j] = th[e0 + j];
      }
      for (int64_t t = 0; t < steps; ++t) {
        const T* __restrict__ x = xp + t * E + e0;
        T* __restrict__ o = op + t * E + e0;
        for (int64_t j = 0; j < n; ++j) {
          const T u = v[j] + x[j];
          const T p = static_cast<T>(u >= h[j]);
          const T w = u - p * h[j];
          const T q = static_cast<T>(w < T(0)) * static_cast<T>(c[j] + p > T(0));
          v[j] = w + q * h[j];
          c[j] = c[j] + p - q;
          o[j] = AMPVTH ? (p - q) * h[j] : p - q;
        }
      }
      for (int64_t j = 0; j < n; ++j) {
        vp[e0 + j] = v[j];
        np[e0 + j] = c[j];
      }
    }
  });
}

// (x [T, ...], v0 | null, n0 | null, vth, ampVth) → [out, vT, nT]; no autograd (the caller checks)
Napi::Value SignedMultiStep(Args& a) {
  at::Tensor x = a.tensor(0);
  at::Tensor v0 = a.isNullish(1) ? at::Tensor() : a.tensor(1);
  at::Tensor n0 = a.isNullish(2) ? at::Tensor() : a.tensor(2);
  at::Tensor vth = a.tensor(3);
  const bool amp = a.boolean(4);
  CheckSequence(a, x, "signed", "");
  at::IntArrayRef state = x.sizes().slice(1);
  neuron::CheckBroadcast(a, vth, state, "threshold");
  neuron::CheckBroadcast(a, v0, state, "initial potential");
  neuron::CheckBroadcast(a, n0, state, "initial count");
  auto same = [&](const at::Tensor& t) { return t.defined() ? t.to(x.scalar_type()) : t; };
  x = x.contiguous();
  v0 = same(v0);
  n0 = same(n0);
  vth = same(vth);
  at::Tensor out = at::empty_like(x), vT = at::empty(state, x.options()), nT = at::empty(state, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "signedForward", [&] {
    at::Tensor k1, k2, k3;
    Bcast<scalar_t> v0b = MakeBcast<scalar_t>(v0, state, k1), n0b = MakeBcast<scalar_t>(n0, state, k2), th = MakeBcast<scalar_t>(vth, state, k3);
    const int64_t steps = x.size(0), E = x.numel() / steps;
    auto run = [&](auto ampv) {
      SignedBlocks<scalar_t, decltype(ampv)::value>(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), vT.data_ptr<scalar_t>(), nT.data_ptr<scalar_t>(), v0b, n0b, th, steps, E);
    };
    amp ? run(std::true_type{}) : run(std::false_type{});
  });
  return Ret(a.env(), std::vector<at::Tensor>{out, vT, nT});
}

// The spike function with a surrogate gradient: forward H(x) = [x >= 0], backward grad * g(x).
struct SpikeFn : public torch::autograd::Function<SpikeFn> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor x, int64_t kind, double param) {
    ctx->save_for_backward({x});
    ctx->saved_data["kind"] = kind;
    ctx->saved_data["param"] = param;
    return (x >= 0).to(x.scalar_type());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor saved = ctx->get_saved_variables()[0];
    at::Tensor x = saved.cpu().contiguous();  // the surrogate loops run on the CPU; other devices get g copied back
    at::Tensor g = at::empty_like(x);
    int kind = static_cast<int>(ctx->saved_data["kind"].toInt());
    double param = ctx->saved_data["param"].toDouble();
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spikeBackward", [&] {
      surrogate::Dispatch(kind, param, [&](auto surr) {
        const scalar_t* xp = x.data_ptr<scalar_t>();
        scalar_t* gp = g.data_ptr<scalar_t>();
        at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) gp[i] = surr(xp[i]);
        });
      });
    });
    return {grads[0] * g.to(saved.device()), at::Tensor(), at::Tensor()};
  }
};

// (x, surrogateKind, surrogateParam) → H(x) with the surrogate's backward
Napi::Value Spike(Args& a) {
  at::Tensor x = a.tensor(0);
  int64_t kind = a.i64(1);
  double param = a.f64(2);
  surrogate::Dispatch(static_cast<int>(kind), param, [](auto) {});
  if (!at::isFloatingType(x.scalar_type())) a.fail("DTYPE_MISMATCH", "input must be floating point, got " + Describe(x));
  return Ret(a.env(), SpikeFn::apply(x, kind, param));
}

// (x, surrogateKind, surrogateParam) → g(x), the surrogate's derivative itself (for tests and plots)
Napi::Value SurrogateGrad(Args& a) {
  at::Device device = a.tensor(0).device();
  at::Tensor x = a.tensor(0).cpu().contiguous();
  int kind = static_cast<int>(a.i64(1));
  double param = a.f64(2);
  at::Tensor g = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "surrogateGrad", [&] {
    surrogate::Dispatch(kind, param, [&](auto surr) {
      const scalar_t* xp = x.data_ptr<scalar_t>();
      scalar_t* gp = g.data_ptr<scalar_t>();
      for (int64_t i = 0; i < x.numel(); ++i) gp[i] = surr(xp[i]);
    });
  });
  return Ret(a.env(), g.to(device));
}

}  // namespace

void InitNeuron(Napi::Env env, Napi::Object e) {
  Def(env, e, "neuronMultiStep", MultiStep);
  Def(env, e, "signedMultiStep", SignedMultiStep);
  Def(env, e, "spike", Spike);
  Def(env, e, "surrogateGrad", SurrogateGrad);
}

}  // namespace snn
