// Batch norm followed by an IF/LIF neuron, fused, over a sequence with time folded into the batch ([T·N, C, ...],
// as SpikingClassifier runs them): the statistics are taken over T·N (and space), as SpikingJelly's multi-step
// layers do. The point is memory. Unfused, a training step keeps the batch norm's input and the neuron's membranes U
// for backward (and the normalized input too, unless the layers release their intermediates); fused, only the input x:
// - the statistics (mean, variance) are ordinary autograd ops on x, which save x itself;
// - the normalization and the neuron are one autograd function: forward computes y = x·scale + shift per channel
//   and runs the neuron on y without writing y or U; backward recomputes y and U block by block (one pass through
//   time, in a buffer of T × 256 elements) and then runs backward through time, as neuron.cc does with stored U.
// The per-element arithmetic is neuron_kernel.h's, shared with the plain neuron.
#include "common.h"
#include "neuron_kernel.h"
#include "surrogate.h"
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <mutex>
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

// The layout of a folded input viewed as [T, E]: element e of a step is in channel (e / inner) % C. A repeated input
// (direct encoding: the same current at every step) is given once, [N, C, ...]: step t reads it at offset t·xStep = 0,
// and each of its values stands for `copies` = T values of the folded input.
struct Layout {
  int64_t steps, E, C, inner, xStep, copies;
};
Layout LayoutOf(const at::Tensor& x, int64_t steps, bool repeated) {
  int64_t inner = 1;
  for (int64_t d = 2; d < x.dim(); ++d) inner *= x.size(d);
  const int64_t E = repeated ? x.numel() : x.numel() / steps;
  return {steps, E, x.size(1), inner, repeated ? 0 : E, repeated ? steps : 1};
}
// One step's state shape: [N, C, ...] of x [T·N, C, ...] (or of a repeated x [N, C, ...]).
std::vector<int64_t> StateOf(const at::Tensor& x, int64_t steps, bool repeated) {
  std::vector<int64_t> state(x.sizes().begin(), x.sizes().end());
  if (!repeated) state[0] /= steps;
  return state;
}

// The block's per-channel scale and shift, and its channel indices. One division per block: two per element had
// taken half of the fused layer's forward (82 ms of snn-mnist-cnn's first layer at T = 4).
template <typename T>
void BlockChannels(const Layout& l, int64_t e0, int64_t n, const T* sc, const T* sh, int64_t* ch, T* scj, T* shj) {
  int64_t q = e0 / l.inner, r = e0 % l.inner, c = q % l.C;
  for (int64_t j = 0; j < n; ++j) {
    ch[j] = c;
    scj[j] = sc[c];
    shj[j] = sh[c];
    if (++r == l.inner) {
      r = 0;
      c = ++q % l.C;
    }
  }
}

template <typename T, bool HARD, bool AMPVTH>
void ForwardBlocks(const Layout& l, const T* xp, const T* sc, const T* sh, T* op, T* vp, Bcast<T> v0b, Bcast<T> th, T a, T vr) {
  at::parallel_for(0, l.E, kGrain, [&](int64_t begin, int64_t end) {
    T v[kBlock], h[kBlock], scj[kBlock], shj[kBlock];
    int64_t ch[kBlock];
    for (int64_t e0 = begin; e0 < end; e0 += kBlock) {
      const int64_t n = std::min(kBlock, end - e0);
      BlockChannels(l, e0, n, sc, sh, ch, scj, shj);
      for (int64_t j = 0; j < n; ++j) {
        v[j] = v0b[e0 + j];
        h[j] = th[e0 + j];
      }
      for (int64_t t = 0; t < l.steps; ++t) {
        const T* __restrict__ x = xp + t * l.xStep + e0;
        T* __restrict__ o = op + t * l.E + e0;
        for (int64_t j = 0; j < n; ++j) {
          T u;
          o[j] = neuron::FireStep<T, HARD, AMPVTH>(v[j], x[j] * scj[j] + shj[j], h[j], a, vr, u);
        }
      }
      for (int64_t j = 0; j < n; ++j) vp[e0 + j] = v[j];
    }
  });
}

template <typename T>
void Forward(const Layout& l, const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift, const at::Tensor& v0,
             const at::Tensor& vth, double alpha, const Opts& o, at::Tensor& out, at::Tensor& vT) {
  at::IntArrayRef state = vT.sizes();
  at::Tensor k1, k2;
  Bcast<T> v0b = MakeBcast<T>(v0, state, k1), th = MakeBcast<T>(vth, state, k2);
  const T *xp = x.data_ptr<T>(), *sc = scale.data_ptr<T>(), *sh = shift.data_ptr<T>();
  T *op = out.data_ptr<T>(), *vp = vT.data_ptr<T>();
  const T a = T(alpha), vr = T(o.vReset);
  auto run = [&](auto hard, auto amp) {
    ForwardBlocks<T, decltype(hard)::value, decltype(amp)::value>(l, xp, sc, sh, op, vp, v0b, th, a, vr);
  };
  auto with_amp = [&](auto hard) { o.ampVth ? run(hard, std::true_type{}) : run(hard, std::false_type{}); };
  o.hard ? with_amp(std::true_type{}) : with_amp(std::false_type{});
}

// What the backward kernel computes: gx [T·N, ...] (first dL/dy, then dL/dx in place); per channel the sums of
// dL/dy and of dL/dy · x; per element of a step gv0, gth, galpha.
struct Grads {
  at::Tensor gx, gv0, gth, galpha;
  std::vector<double> sumGy, sumGyX;
};

// Recomputes the block's pre-reset membranes u[t] into ub (steps × kBlock) exactly as the forward computed them.
template <typename T, bool HARD>
void Recompute(const Layout& l, const T* xp, int64_t e0, int64_t n, const T* scj, const T* shj, const T* v0blk,
               const T* h, T a, T vr, T* ub) {
  T v[kBlock];
  for (int64_t j = 0; j < n; ++j) v[j] = v0blk[j];
  for (int64_t t = 0; t < l.steps; ++t) {
    const T* __restrict__ x = xp + t * l.xStep + e0;
    T* __restrict__ u = ub + t * kBlock;
    for (int64_t j = 0; j < n; ++j) neuron::FireStep<T, HARD, false>(v[j], x[j] * scj[j] + shj[j], h[j], a, vr, u[j]);
  }
}

// One block's arrays at step t of the backward pass.
template <typename T>
struct BlockRefs {
  const T *u, *x, *go, *prev;
  T* gx;
  const T* h;
  T *gv, *gh, *ga, *bsc, *bsh;
};

// One step back through time over a block. SUM: add dL/dx to gx (a repeated input) instead of writing it. A function
// of its own with everything passed by value, so that the loop has no branch and vectorizes (in a lambda capturing
// by reference it did not: 190 ms more a step on snn-mnist-cnn).
template <typename T, bool SUM, typename G>
void BackStepBlock(const neuron::BackCoef<T, G>& c, const BlockRefs<T> r, int64_t n, T kFirst) {
  const T* __restrict__ u = r.u;
  const T* __restrict__ x = r.x;
  const T* go = r.go;  // may be gx itself (Reusable): read before written
  const T* __restrict__ prev = r.prev;
  T* gx = r.gx;
  T* __restrict__ gv = r.gv;
  T* __restrict__ gh = r.gh;
  T* __restrict__ ga = r.ga;
  T* __restrict__ bsc = r.bsc;
  T* __restrict__ bsh = r.bsh;
  const T kLater = T(1) - kFirst;
  if constexpr (SUM) {
    T* __restrict__ acc = gx;  // a buffer of its own (go is the output gradient, of all T steps)
    for (int64_t j = 0; j < n; ++j) {
      const T p = prev[j];
      const T gy = c.Step(u[j], r.h[j], go[j], kFirst * p + kLater * c.AfterReset(p, r.h[j]), gv[j], gh[j], ga[j]);
      acc[j] += gy;
      bsc[j] += gy * x[j];
      bsh[j] += gy;
    }
  } else {
    for (int64_t j = 0; j < n; ++j) {
      const T p = prev[j];
      const T gy = c.Step(u[j], r.h[j], go[j], kFirst * p + kLater * c.AfterReset(p, r.h[j]), gv[j], gh[j], ga[j]);
      gx[j] = gy;
      bsc[j] += gy * x[j];
      bsh[j] += gy;
    }
  }
}

template <typename T, typename G>
void Backward(const Layout& l, const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift, const at::Tensor& v0,
              const at::Tensor& vth, double alpha, const Opts& o, const G& surr, const at::Tensor& gout,
              const at::Tensor& gvT, Grads& r) {
  const std::vector<int64_t> state = StateOf(x, l.steps, l.copies > 1);
  at::Tensor k1, k2;
  Bcast<T> v0b = MakeBcast<T>(v0, state, k1), th = MakeBcast<T>(vth, state, k2);
  const T *xp = x.data_ptr<T>(), *sc = scale.data_ptr<T>(), *sh = shift.data_ptr<T>();
  const T* gop = gout.defined() ? gout.data_ptr<T>() : nullptr;
  const T* gvp = gvT.defined() ? gvT.data_ptr<T>() : nullptr;
  T* gxp = r.gx.data_ptr<T>();
  T *gv0p = neuron::PtrOrNull<T>(r.gv0), *gthp = neuron::PtrOrNull<T>(r.gth), *gap = neuron::PtrOrNull<T>(r.galpha);
  r.sumGy.assign(l.C, 0.0);
  r.sumGyX.assign(l.C, 0.0);
  std::mutex mu;
  const neuron::BackCoef<T, G> c(o, alpha, surr);
  at::parallel_for(0, l.E, kGrain, [&](int64_t begin, int64_t end) {
    std::vector<T> ub(static_cast<size_t>(l.steps * kBlock));
    std::vector<double> gsc(l.C, 0.0), gsh(l.C, 0.0);
    T gv[kBlock], gh[kBlock], ga[kBlock], h[kBlock], v0blk[kBlock], scj[kBlock], shj[kBlock], bsc[kBlock], bsh[kBlock];
    T zeros[kBlock] = {};
    int64_t ch[kBlock];
    const neuron::BackCoef<T, G> c_ = c;
    for (int64_t e0 = begin; e0 < end; e0 += kBlock) {
      const int64_t n = std::min(kBlock, end - e0);
      BlockChannels(l, e0, n, sc, sh, ch, scj, shj);
      for (int64_t j = 0; j < n; ++j) {
        gv[j] = gvp ? gvp[e0 + j] : T(0);
        gh[j] = ga[j] = bsc[j] = bsh[j] = 0;
        h[j] = th[e0 + j];
        v0blk[j] = v0b[e0 + j];
      }
      if (o.hard) Recompute<T, true>(l, xp, e0, n, scj, shj, v0blk, h, c_.a, c_.vr, ub.data());
      else Recompute<T, false>(l, xp, e0, n, scj, shj, v0blk, h, c_.a, c_.vr, ub.data());
      for (int64_t t = l.steps - 1; t >= 0; --t) {
        const T* __restrict__ u_ = ub.data() + t * kBlock;
        const T* __restrict__ x_ = xp + t * l.xStep + e0;
        const T* go_ = gop ? gop + t * l.E + e0 : zeros;  // may be gx_ itself (Reusable): read before written
        const bool first = t == 0;
        const T* __restrict__ prev = first ? v0blk : ub.data() + (t - 1) * kBlock;
        T* gx_ = gxp + t * l.xStep + e0;
        const T kFirst = first ? T(1) : T(0);
        // A repeated input's gradient is the sum over the steps (the last step, the first computed, sets it).
        const BlockRefs<T> r{u_, x_, go_, prev, gx_, h, gv, gh, ga, bsc, bsh};
        if (l.xStep == 0 && t != l.steps - 1) BackStepBlock<T, true>(c_, r, n, kFirst);
        else BackStepBlock<T, false>(c_, r, n, kFirst);
      }
      for (int64_t j = 0; j < n; ++j) {
        gsc[ch[j]] += bsc[j];
        gsh[ch[j]] += bsh[j];
        if (gv0p) gv0p[e0 + j] = gv[j];
        if (gthp) gthp[e0 + j] = gh[j];
        if (gap) gap[e0 + j] = ga[j];
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    for (int64_t k = 0; k < l.C; ++k) {
      r.sumGyX[k] += gsc[k];
      r.sumGy[k] += gsh[k];
    }
  });
}

// dL/dx in place of dL/dy, per channel gx = k1·gy + k2·x + k3. In eval mode y = x·scale + shift with constant
// statistics: k1 = scale, k2 = k3 = 0. In training mode the statistics depend on x (batch norm's backward, with
// x̂ = (x − mean)·invstd and M values per channel): gx = w·invstd·(gy − Σgy/M − x̂·Σ(gy·x̂)/M). A repeated input's
// gx is the sum of its copies' gradients: gy holds Σ_t gy, and k2·x + k3 counts `copies` times.
template <typename T>
void InputGrad(const Layout& l, const at::Tensor& x, const std::vector<double>& w, const std::vector<double>& mean,
               const std::vector<double>& invstd, bool training, const Grads& r, at::Tensor& gx) {
  const double M = static_cast<double>(x.numel() / l.C * l.copies);
  std::vector<T> k1(l.C), k2(l.C), k3(l.C);
  for (int64_t c = 0; c < l.C; ++c) {
    const double a = w[c] * invstd[c];
    const double sgxh = invstd[c] * (r.sumGyX[c] - mean[c] * r.sumGy[c]);  // Σ gy·x̂
    const double b = training ? -a * invstd[c] * sgxh / M : 0.0;
    k1[c] = T(a);
    k2[c] = T(b * l.copies);
    k3[c] = T((training ? -a * r.sumGy[c] / M - b * mean[c] : 0.0) * l.copies);
  }
  const T* xp = x.data_ptr<T>();
  T* gp = gx.data_ptr<T>();
  const int64_t rows = x.numel() / l.inner;
  at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / l.inner), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t c = row % l.C;
      const T a = k1[c], b = k2[c], d = k3[c];
      const T* __restrict__ xr = xp + row * l.inner;
      T* __restrict__ g = gp + row * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) g[i] = a * g[i] + b * xr[i] + d;
    }
  });
}

std::vector<double> ToVector(const at::Tensor& t) {
  at::Tensor d = t.detach().to(at::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// The normalization and the neuron as one autograd function:
// Whether the output gradient's buffer can take the input gradient in place (the kernel reads each element of it before
// writing the same element): only when nothing but the autograd engine holds it. The engine passes it to a custom
// function's backward in two lists (CppNode::apply), so three handles (with this one) are the engine's alone, as in
// PyTorch's own AccumulateGrad, which steals a gradient buffer on the same kind of count. A retained gradient or a
// view adds a handle, and the buffer is left alone. Saves one activation at the peak of a BPTT step.
bool Reusable(const at::Tensor& g, const at::Tensor& x) {
  return g.defined() && g.use_count() <= 3 && g.storage().use_count() == 1 && g.storage_offset() == 0 &&
         g.is_contiguous() && g.sizes().equals(x.sizes()) && g.scalar_type() == x.scalar_type() &&
         g.storage().nbytes() == static_cast<size_t>(g.numel()) * g.element_size();
}

// (x [T·N, C, ...] (or [N, C, ...] repeated at every step), weight | undefined, bias | undefined, mean [C], invstd [C],
// v0, vth, alpha; training, T, repeated, options) → [out [T·N, C, ...], vT [N, C, ...]]. mean and invstd are the statistics used (the batch's in training mode, where
// backward differentiates through them as batch norm does; the running ones in eval mode).
struct BnNeuronFn : public torch::autograd::Function<BnNeuronFn> {
  static variable_list forward(AutogradContext* ctx, at::Tensor x, c10::optional<at::Tensor> w, c10::optional<at::Tensor> b, at::Tensor mean,
                               at::Tensor invstd, at::Tensor v0, at::Tensor vth, at::Tensor alpha, bool training,
                               int64_t steps, bool repeated, bool hard, double vReset, bool ampVth, bool detachReset,
                               int64_t surrogate, double param) {
    Opts o{hard, vReset, ampVth, detachReset, static_cast<int>(surrogate), param};
    at::Tensor weight = w ? *w : at::Tensor(), bias = b ? *b : at::Tensor();
    ctx->save_for_backward({x, weight, bias, mean, invstd, v0, vth, alpha});
    neuron::SaveOpts(ctx, o);
    ctx->saved_data["steps"] = steps;
    ctx->saved_data["training"] = training;
    ctx->saved_data["repeated"] = repeated;
    return Run(x, weight, bias, mean, invstd, v0, vth, alpha, steps, repeated, o);
  }

  // y = x·scale + shift per channel: scale = w·invstd, shift = b − mean·scale
  static std::pair<at::Tensor, at::Tensor> Affine(const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& mean,
                                                  const at::Tensor& invstd) {
    at::Tensor scale = weight.defined() ? weight * invstd : invstd;
    at::Tensor shift = -mean * scale;
    if (bias.defined()) shift = shift + bias;
    return {scale.contiguous(), shift.contiguous()};
  }

  static variable_list Run(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& mean,
                           const at::Tensor& invstd, const at::Tensor& v0, const at::Tensor& vth, const at::Tensor& alpha,
                           int64_t steps, bool repeated, const Opts& o) {
    at::NoGradGuard guard;
    auto [scale, shift] = Affine(weight, bias, mean, invstd);
    auto folded = x.sizes().vec();
    if (repeated) folded[0] *= steps;
    at::Tensor out = at::empty(folded, x.options()), vT = at::empty(StateOf(x, steps, repeated), x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "bnNeuronForward", [&] {
      Forward<scalar_t>(LayoutOf(x, steps, repeated), x, scale, shift, v0, vth, alpha.item<double>(), o, out, vT);
    });
    return {out, vT};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &bias = saved[2], &mean = saved[3], &invstd = saved[4];
    const at::Tensor &v0 = saved[5], &vth = saved[6], &alpha = saved[7];
    Opts o = neuron::LoadOpts(ctx);
    const int64_t steps = ctx->saved_data["steps"].toInt();
    const bool training = ctx->saved_data["training"].toBool(), repeated = ctx->saved_data["repeated"].toBool();
    at::Tensor gout = std::move(grads[0]);
    if (gout.defined() && !gout.is_contiguous()) gout = gout.contiguous();
    at::Tensor gvT = grads[1].defined() ? grads[1].contiguous() : at::Tensor();
    auto state = StateOf(x, steps, repeated);
    // Per-element gradients of v0, the threshold and alpha only where they are wanted (each is one step's size).
    auto wanted = [&](const at::Tensor& t) { return t.requires_grad() ? at::empty(state, x.options()) : at::Tensor(); };
    Grads r{Reusable(gout, x) ? gout : at::empty_like(x), wanted(v0), wanted(vth), wanted(alpha), {}, {}};
    const Layout l = LayoutOf(x, steps, repeated);
    auto [scale, shift] = Affine(weight, bias, mean, invstd);
    const std::vector<double> mu = ToVector(mean), is = ToVector(invstd);
    const std::vector<double> w = weight.defined() ? ToVector(weight) : std::vector<double>(l.C, 1.0);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "bnNeuronBackward", [&] {
      surrogate::Dispatch(o.surrogate, o.param, [&](auto surr) {
        Backward<scalar_t>(l, x, scale, shift, v0, vth, alpha.item<double>(), o, surr, gout, gvT, r);
      });
      InputGrad<scalar_t>(l, x, w, mu, is, training, r, r.gx);
    });
    at::Tensor gw, gb, none;
    if (weight.defined() && weight.requires_grad()) {  // Σ gy·x̂ = invstd·(Σ gy·x − mean·Σ gy)
      std::vector<double> g(l.C);
      for (int64_t c = 0; c < l.C; ++c) g[c] = is[c] * (r.sumGyX[c] - mu[c] * r.sumGy[c]);
      gw = at::tensor(g, at::kDouble).to(weight.scalar_type());
    }
    if (bias.defined() && bias.requires_grad()) gb = at::tensor(r.sumGy, at::kDouble).to(bias.scalar_type());
    at::Tensor gv0 = v0.requires_grad() ? r.gv0.sum_to_size(v0.sizes()) : none;
    at::Tensor gth = vth.requires_grad() ? r.gth.sum_to_size(vth.sizes()) : none;
    at::Tensor ga = alpha.requires_grad() ? r.galpha.sum().reshape(alpha.sizes()) : none;
    return {r.gx, gw, gb, none, none, gv0, gth, ga, none, none, none, none, none, none, none, none, none};
  }
};

void CheckChannels(Args& a, const c10::optional<at::Tensor>& t, int64_t C, const char* name) {
  if (t && t->numel() != C)
    a.fail("SHAPE_MISMATCH", std::string("batch norm ") + name + " " + Describe(*t) + " must have one value per channel (" + std::to_string(C) + ")");
}

// Per-channel mean and biased variance of x [N, C, ...] in one pass (at::var_mean over dims {0, 2, ...} took a third of
// a fused layer's forward): sums in double of x − K[c], K[c] = the channel's first value (the shifted-data algorithm,
// accurate when K is near the mean).
template <typename T>
void ChannelMoments(const at::Tensor& x, std::vector<double>& mean, std::vector<double>& var) {
  const int64_t C = x.size(1), inner = x.numel() / (x.size(0) * C), rows = x.numel() / inner;
  const T* xp = x.data_ptr<T>();
  std::vector<double> K(C), sum(C, 0.0), sq(C, 0.0);
  for (int64_t c = 0; c < C; ++c) K[c] = static_cast<double>(xp[c * inner]);
  std::mutex mu;
  at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t begin, int64_t end) {
    std::vector<double> s(C, 0.0), q(C, 0.0);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t c = row % C;
      const T* __restrict__ xr = xp + row * inner;
      const double k = K[c];
      // Four independent sums (one chain of dependent additions ran at a quarter of the speed; they vectorize).
      double a[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0};
      int64_t i = 0;
      for (; i + 4 <= inner; i += 4) {
        for (int j = 0; j < 4; ++j) {
          const double d = static_cast<double>(xr[i + j]) - k;
          a[j] += d;
          b[j] += d * d;
        }
      }
      for (; i < inner; ++i) {
        const double d = static_cast<double>(xr[i]) - k;
        a[0] += d;
        b[0] += d * d;
      }
      s[c] += (a[0] + a[1]) + (a[2] + a[3]);
      q[c] += (b[0] + b[1]) + (b[2] + b[3]);
    }
    std::lock_guard<std::mutex> lock(mu);
    for (int64_t c = 0; c < C; ++c) {
      sum[c] += s[c];
      sq[c] += q[c];
    }
  });
  const double M = static_cast<double>(rows / C * inner);
  mean.resize(C);
  var.resize(C);
  for (int64_t c = 0; c < C; ++c) {
    const double m = sum[c] / M;
    mean[c] = K[c] + m;
    var[c] = std::max(0.0, sq[c] / M - m * m);
  }
}

// The statistics batch norm uses, as (mean, invstd) without autograd: in training mode the batch's (biased variance;
// the running ones are updated in place with the unbiased variance, as PyTorch's batch_norm does), else the running ones.
// Each value of x stands for `copies` values (a repeated input): the same moments, `copies` times the count.
std::pair<at::Tensor, at::Tensor> Statistics(Args& a, const at::Tensor& x, const c10::optional<at::Tensor>& rm,
                                             const c10::optional<at::Tensor>& rv, bool training, double momentum, double eps,
                                             int64_t copies) {
  at::NoGradGuard guard;
  at::Tensor mean, var;
  if (training) {
    const int64_t count = x.numel() / x.size(1) * copies;
    if (count < 2) a.fail("SHAPE_MISMATCH", "batch norm in training mode needs more than one value per channel, got " + Describe(x));
    std::vector<double> m, v;
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "bnStatistics", [&] { ChannelMoments<scalar_t>(x, m, v); });
    mean = at::tensor(m, at::kDouble).to(x.scalar_type());
    var = at::tensor(v, at::kDouble).to(x.scalar_type());
    if (rm && rv) {
      rm->mul_(1 - momentum).add_(mean.to(rm->scalar_type()), momentum);
      rv->mul_(1 - momentum).add_(var.to(rv->scalar_type()) * (static_cast<double>(count) / (count - 1)), momentum);
    }
  } else {
    if (!rm || !rv) a.fail("INVALID_ARGUMENT", "batch norm in eval mode needs running statistics");
    mean = rm->to(x.scalar_type());
    var = rv->to(x.scalar_type());
  }
  return {mean.contiguous(), (var + eps).rsqrt().contiguous()};
}

// (x [T·N, C, ...], weight?, bias?, runningMean?, runningVar?, training, momentum, eps, T,
//  v0 | null, vth, alpha (0-d), hard, vReset, ampVth, detachReset, surrogateKind, surrogateParam, repeated) → [out, vT]
// repeated: x is [N, C, ...], the input of every step (the same as x repeated T times and folded, without the copies).
Napi::Value BnNeuron(Args& a) {
  at::Tensor x = a.tensor(0);
  auto w = a.optTensor(1), b = a.optTensor(2), rm = a.optTensor(3), rv = a.optTensor(4);
  const int64_t steps = a.i64(8);
  const bool repeated = !a.isNullish(18) && a.boolean(18);
  if (x.dim() < 2 || steps < 1 || (!repeated && x.size(0) % steps != 0))
    a.fail("SHAPE_MISMATCH", "input must be [T·N, C, ...] with T = " + std::to_string(steps) + ", got " + Describe(x));
  if (!x.is_cpu()) a.fail("DEVICE_ERROR", "the fused batch norm + neuron kernel runs on CPU tensors, got " + Describe(x));
  if (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble)
    a.fail("DTYPE_MISMATCH", "input must be float32 or float64, got " + Describe(x));
  const int64_t C = x.size(1);
  CheckChannels(a, w, C, "weight");
  CheckChannels(a, b, C, "bias");
  CheckChannels(a, rm, C, "running mean");
  CheckChannels(a, rv, C, "running variance");
  at::Tensor v0 = a.isNullish(9) ? at::zeros({}, x.options()) : a.tensor(9).to(x.scalar_type());
  at::Tensor vth = a.tensor(10).to(x.scalar_type()), alpha = a.tensor(11).to(x.scalar_type());
  if (alpha.numel() != 1) a.fail("SHAPE_MISMATCH", "alpha must have one element, got " + Describe(alpha));
  const auto state = StateOf(x, steps, repeated);
  neuron::CheckBroadcast(a, vth, state, "threshold");
  neuron::CheckBroadcast(a, v0, state, "initial potential");
  Opts o{a.boolean(12), a.f64(13), a.boolean(14), a.boolean(15), static_cast<int>(a.i64(16)), a.f64(17)};
  surrogate::Dispatch(o.surrogate, o.param, [](auto) {});  // validates the kind
  x = x.contiguous();
  const bool training = a.boolean(5);
  auto [mean, invstd] = Statistics(a, x, rm, rv, training, a.f64(6), a.f64(7), repeated ? steps : 1);
  auto same = [&](const c10::optional<at::Tensor>& t) { return t ? t->to(x.scalar_type()) : at::Tensor(); };
  at::Tensor weight = same(w), bias = same(b);
  auto opt = [](const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; };
  bool grad = c10::GradMode::is_enabled() &&
              (x.requires_grad() || (weight.defined() && weight.requires_grad()) || (bias.defined() && bias.requires_grad()) ||
               v0.requires_grad() || vth.requires_grad() || alpha.requires_grad());
  if (!grad) return Ret(a.env(), BnNeuronFn::Run(x, weight, bias, mean, invstd, v0, vth, alpha, steps, repeated, o));
  auto r = BnNeuronFn::apply(x, opt(weight), opt(bias), mean, invstd, v0, vth, alpha, training, steps, repeated, o.hard, o.vReset,
                             o.ampVth, o.detachReset, static_cast<int64_t>(o.surrogate), o.param);
  return Ret(a.env(), std::vector<at::Tensor>{r[0], r[1]});
}

}  // namespace

void InitBnNeuron(Napi::Env env, Napi::Object e) { Def(env, e, "bnNeuronMultiStep", BnNeuron); }

}  // namespace snn
