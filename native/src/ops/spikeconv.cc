// 8-bit convolution of spikes: the low-precision option of snnkit's simulation. Spikes are exactly representable in
// 8 bits (0/1, or the few levels average pooling of spikes makes), so with weights quantized to int8 per output
// channel the convolution is an exact integer sum, scaled once into float32: dst = scale[o] · Σ q[o,c,i,j] · src.
// It runs through oneDNN (the library libtorch itself uses for its CPU convolutions, here Debian's libdnnl that
// libtorch-dev links), whose int8 kernels use VNNI (vpdpbusd, u8 × s8) where the CPU has it: about 3× its float32
// convolution on the 16–64-channel layers of CIFAR ResNets (docs/results/inference.md).
//
// Layout: src and dst are NCHW tensors in channels_last memory (NHWC), so that no reorder runs per call; the int8
// weights are reordered once into the kernel's blocked layout and kept while the weight tensor lives (a cache keyed
// by the tensor, checked against its version counter), with the layer's primitives, one per geometry (oneDNN 2.6 takes
// int8 output scales at creation only, so a primitive belongs to its layer).
#include "common.h"
#include <c10/util/intrusive_ptr.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>
#ifdef SNNKIT_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace snn {
namespace {


// (w) f32 [O, ...] → [q int8 [O, ...], scale f32 [O]]: symmetric per output channel, scale = max|w_o| / 127
// (1 for an all-zero channel), q = round-half-even(w / scale) within [-127, 127].
Napi::Value SpikeConvPack(Args& a) {
  at::Tensor w = a.tensor(0);
  if (!w.is_cpu() || w.scalar_type() != at::kFloat || w.dim() < 2)
    a.fail("INVALID_ARGUMENT", "the weight must be a float32 CPU tensor [out, in, ...]");
  w = w.contiguous();
  const int64_t O = w.size(0), per = O == 0 ? 0 : w.numel() / O;
  at::Tensor q = at::empty(w.sizes(), w.options().dtype(at::kChar)), s = at::empty({O}, w.options());
  const float* wp = w.data_ptr<float>();
  int8_t* qp = q.data_ptr<int8_t>();
  float* sp = s.data_ptr<float>();
  for (int64_t o = 0; o < O; ++o) {
    float m = 0.f;
    bool finite = true;
    for (int64_t i = 0; i < per; ++i) {
      finite &= std::isfinite(wp[o * per + i]);
      m = std::max(m, std::fabs(wp[o * per + i]));
    }
    if (!finite) a.fail("INVALID_ARGUMENT", "the weight holds a non-finite value (output channel " + std::to_string(o) + ")");
    sp[o] = m > 0.f ? m / 127.f : 1.f;
    for (int64_t i = 0; i < per; ++i) qp[o * per + i] = static_cast<int8_t>(std::clamp(std::nearbyint(wp[o * per + i] / sp[o]), -127.f, 127.f));
  }
  return Ret(a.env(), std::vector<at::Tensor>{q, s});
}

// A run of values as counts, k[i] the inverse unit of element i (a contiguous loop that vectorizes); 0 when a value is
// not a whole count in 0..255.
__attribute__((noinline)) int CountsRun(const float* __restrict__ src, uint8_t* __restrict__ dst, int64_t len, const float* __restrict__ k) {
  int ok = 1;
  for (int64_t i = 0; i < len; ++i) {
    const float v = src[i] * k[i];
    const int32_t r = static_cast<int32_t>(std::min(std::max(v, 0.f), 255.f) + 0.5f);
    const float d = v - static_cast<float>(r);
    ok &= (d <= 1e-3f) & (d >= -1e-3f);
    dst[i] = static_cast<uint8_t>(r);
  }
  return ok;
}

// (x, inv): x float32 [N, C, H, W] (contiguous, or channels_last: then read as it lies) holding spike counts times a unit per input channel (c), inv [C] the
// inverse units → uint8 [N, C, H, W] in channels_last memory, x[n, c] · inv[c] rounded. Fails when a value is not within
// 1e-3 of an integer in [0, 255]: the input is then not spikes, and 8 bits would change it.
Napi::Value SpikeCountsU8(Args& a) {
  const at::Tensor x0 = a.tensor(0), inv = a.tensor(1).contiguous();
  const bool cl = x0.dim() == 4 && !x0.is_contiguous() && x0.is_contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor x = cl ? x0 : x0.contiguous();
  if (x.scalar_type() != at::kFloat || x.dim() != 4 || !x.is_cpu()) a.fail("INVALID_ARGUMENT", "the input must be a float32 CPU tensor [N, C, H, W], got " + Describe(x));
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  if (inv.scalar_type() != at::kFloat || inv.numel() != C) a.fail("INVALID_ARGUMENT", "expected " + std::to_string(C) + " inverse units");
  const float* xp = x.data_ptr<float>();
  const float* ip = inv.data_ptr<float>();
  std::atomic<int64_t> bad{-1};
  at::Tensor q;
  if (cl) {  // channels-last in, channels-last out: one pass, no transposition
    q = at::empty(x.sizes(), x.options().dtype(at::kByte), at::MemoryFormat::ChannelsLast);
    uint8_t* qp = q.data_ptr<uint8_t>();
    // the units tiled over a row of P elements (a multiple of C), so that the loop runs long vectors
    const int64_t P = C * ((255 + C) / C);
    std::vector<float> units(P);
    for (int64_t j = 0; j < P; ++j) units[j] = ip[j % C];
    at::parallel_for(0, N, 1, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t b = 0; b < C * HW; b += P)
          if (!CountsRun(xp + n * C * HW + b, qp + n * C * HW + b, std::min(P, C * HW - b), units.data())) bad = n;
    });
  } else {  // plane by plane, then ATen's channels-last copy (a byte store per element at stride C was 10x slower)
    q = at::empty(x.sizes(), x.options().dtype(at::kByte));
    uint8_t* qp = q.data_ptr<uint8_t>();
    at::parallel_for(0, N * C, 1, [&](int64_t p0, int64_t p1) {
      std::vector<float> unit(HW);
      for (int64_t p = p0; p < p1; ++p) {
        std::fill(unit.begin(), unit.end(), ip[p % C]);
        if (!CountsRun(xp + p * HW, qp + p * HW, HW, unit.data())) bad = p / C;
      }
    });
    q = q.contiguous(at::MemoryFormat::ChannelsLast);
  }
  if (bad >= 0)
    a.fail("INVALID_ARGUMENT", "the input is not spike counts: sample " + std::to_string(bad.load()) +
                                   " holds a value that is not a whole number (0..255) of its channel's unit");
  return Ret(a.env(), q);
}

#ifdef SNNKIT_DNNL
using dnnl::memory;

dnnl::engine& Engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

struct Geometry {
  int64_t N, C, H, W, O, kh, kw, sh, sw, ph, pw;
  bool accumulate;
  bool operator==(const Geometry& o) const {
    return N == o.N && C == o.C && H == o.H && W == o.W && O == o.O && kh == o.kh && kw == o.kw && sh == o.sh && sw == o.sw &&
           ph == o.ph && pw == o.pw && accumulate == o.accumulate;
  }
  int64_t OH() const { return (H + 2 * ph - kh) / sh + 1; }
  int64_t OW() const { return (W + 2 * pw - kw) / sw + 1; }
};
struct GeometryHash {
  size_t operator()(const Geometry& g) const {
    size_t h = 0;
    for (int64_t v : {g.N, g.C, g.H, g.W, g.O, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, int64_t(g.accumulate)}) h = h * 1000003u ^ std::hash<int64_t>()(v);
    return h;
  }
};
struct Primitive {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward conv;
};
// One layer's int8 weights: their primitives (oneDNN 2.6 takes int8 output scales at creation only) and the weights in
// each kernel's layout, valid while the weight tensor lives unchanged and its scales are the same.
struct Layer {
  c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> owner;
  int64_t version;
  std::vector<float> scales;
  std::unordered_map<Geometry, Primitive, GeometryHash> primitives;
  std::vector<memory> packed;
};

std::mutex mu;
std::unordered_map<const c10::TensorImpl*, Layer> layers;

dnnl::convolution_forward::primitive_desc ConvDesc(const Geometry& g, const std::vector<float>& scales) {
  const memory::desc src({g.N, g.C, g.H, g.W}, memory::data_type::u8, memory::format_tag::nhwc);
  const memory::desc wei({g.O, g.C, g.kh, g.kw}, memory::data_type::s8, memory::format_tag::any);
  const memory::desc dst({g.N, g.O, g.OH(), g.OW()}, memory::data_type::f32, memory::format_tag::nhwc);
  const dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei, dst,
                                          {g.sh, g.sw}, {g.ph, g.pw}, {g.ph, g.pw});
  dnnl::primitive_attr attr;
  attr.set_output_scales(2, scales);  // one per output channel
  if (g.accumulate) {
    dnnl::post_ops po;
    po.append_sum(1.f);
    attr.set_post_ops(po);
  }
  return dnnl::convolution_forward::primitive_desc(d, attr, Engine());
}

// The cache entry of weight q with these scales (a fresh one when q changed, was replaced, or the scales differ).
Layer& LayerFor(const at::Tensor& q, const at::Tensor& scale) {
  for (auto it = layers.begin(); it != layers.end();) it = it->second.owner.expired() ? layers.erase(it) : std::next(it);
  const float* sp = scale.data_ptr<float>();
  std::vector<float> scales(sp, sp + scale.numel());
  auto it = layers.find(q.unsafeGetTensorImpl());
  if (it != layers.end() && it->second.version == q._version() && it->second.scales == scales) return it->second;
  if (it != layers.end()) layers.erase(it);
  Layer fresh{c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(q.getIntrusivePtr()), q._version(), scales, {}, {}};
  return layers.emplace(q.unsafeGetTensorImpl(), std::move(fresh)).first->second;
}

Primitive& PrimitiveFor(Layer& l, const Geometry& g) {
  auto it = l.primitives.find(g);
  if (it != l.primitives.end()) return it->second;
  auto pd = ConvDesc(g, l.scales);
  return l.primitives.emplace(g, Primitive{pd, dnnl::convolution_forward(pd)}).first->second;
}

// q reordered into `want`, kept with the layer.
memory& PackedWeights(Layer& l, const at::Tensor& q, const memory::desc& want) {
  for (memory& m : l.packed)
    if (m.get_desc() == want) return m;
  memory plain(memory::desc({q.size(0), q.size(1), q.size(2), q.size(3)}, memory::data_type::s8, memory::format_tag::oihw), Engine(), q.data_ptr());
  memory packed(want, Engine());
  dnnl::stream s(Engine());
  dnnl::reorder(plain, packed).execute(s, plain, packed);
  s.wait();
  l.packed.push_back(packed);
  return l.packed.back();
}
#endif

// (src, q, scale, stride[2], padding[2], dst | null, accumulate): src uint8 [N, C, H, W] and dst float32 [N, O, OH, OW],
// both channels_last; q int8 [O, C, kh, kw] (contiguous), scale float32 [O]. dst = scale · conv(src, q), or dst +=
// that with accumulate. The TypeScript wrapper names the layer in its errors.
Napi::Value SpikeConv(Args& a) {
#ifndef SNNKIT_DNNL
  a.fail("UNSUPPORTED_OP", "8-bit spike convolution needs the addon built with oneDNN (Debian's libdnnl-dev, with Debian's libtorch-dev); this build has none");
#else
  const at::Tensor src = a.tensor(0), q = a.tensor(1), scale = a.tensor(2);
  const std::vector<int64_t> stride = a.ints(3), pad = a.ints(4);
  c10::optional<at::Tensor> out = a.optTensor(5);
  const bool accumulate = a.boolean(6);
  const auto cl = at::MemoryFormat::ChannelsLast;
  if (src.scalar_type() != at::kByte || src.dim() != 4 || !src.is_cpu() || !src.is_contiguous(cl))
    a.fail("INVALID_ARGUMENT", "the input must be a uint8 CPU tensor [N, C, H, W] in channels_last memory, got " + Describe(src));
  if (q.scalar_type() != at::kChar || q.dim() != 4 || !q.is_contiguous() || q.size(1) != src.size(1))
    a.fail("INVALID_ARGUMENT", "the weight must be a contiguous int8 tensor [O, " + std::to_string(src.size(1)) + ", kh, kw], got " + Describe(q));
  if (scale.scalar_type() != at::kFloat || scale.numel() != q.size(0) || !scale.is_contiguous())
    a.fail("INVALID_ARGUMENT", "the scale must be a contiguous float32 tensor of " + std::to_string(q.size(0)) + " values");
  if (stride.size() != 2 || pad.size() != 2 || stride[0] < 1 || stride[1] < 1 || pad[0] < 0 || pad[1] < 0)
    a.fail("INVALID_ARGUMENT", "stride and padding must be two values each (stride >= 1, padding >= 0)");
  const Geometry g{src.size(0), src.size(1), src.size(2), src.size(3), q.size(0), q.size(2), q.size(3), stride[0], stride[1], pad[0], pad[1], accumulate};
  if (g.OH() < 1 || g.OW() < 1) a.fail("INVALID_ARGUMENT", "the input is smaller than the kernel");
  at::Tensor dst;
  if (out) {
    dst = *out;
    if (dst.scalar_type() != at::kFloat || !dst.is_contiguous(cl) || dst.sizes() != at::IntArrayRef({g.N, g.O, g.OH(), g.OW()}))
      a.fail("INVALID_ARGUMENT", "dst must be a float32 tensor [" + std::to_string(g.N) + ", " + std::to_string(g.O) + ", " + std::to_string(g.OH()) + ", " +
                                     std::to_string(g.OW()) + "] in channels_last memory, got " + Describe(dst));
  } else {
    if (accumulate) a.fail("INVALID_ARGUMENT", "accumulate needs dst");
    dst = at::empty({g.N, g.O, g.OH(), g.OW()}, src.options().dtype(at::kFloat), cl);
  }
  if (g.N == 0) return Ret(a.env(), dst);
  std::lock_guard<std::mutex> lock(mu);
  Layer& l = LayerFor(q, scale);
  Primitive& p = PrimitiveFor(l, g);
  memory& w = PackedWeights(l, q, p.pd.weights_desc());
  memory s(p.pd.src_desc(), Engine(), src.data_ptr()), d(p.pd.dst_desc(), Engine(), dst.data_ptr());
  dnnl::stream st(Engine());
  p.conv.execute(st, {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, d}});
  st.wait();
  return Ret(a.env(), dst);
#endif
}

// () → the oneDNN implementation an 8-bit convolution of this geometry runs ("" without oneDNN), for the benchmark.
Napi::Value SpikeConvInfo(Args& a) {
#ifdef SNNKIT_DNNL
  const std::vector<int64_t> g = a.ints(0);  // N, C, H, W, O, kh, kw, stride, pad
  if (g.size() != 9) a.fail("INVALID_ARGUMENT", "expected [N, C, H, W, O, kh, kw, stride, pad]");
  return Napi::String::New(a.env(), ConvDesc(Geometry{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[7], g[8], g[8], false}, std::vector<float>(g[4], 1.f)).impl_info_str());
#else
  return Napi::String::New(a.env(), "");
#endif
}

}  // namespace

void InitSpikeConv(Napi::Env env, Napi::Object e) {
  Def(env, e, "spikeConvPack", SpikeConvPack);
  Def(env, e, "spikeConv", SpikeConv);
  Def(env, e, "spikeConvInfo", SpikeConvInfo);
  Def(env, e, "spikeCountsU8", SpikeCountsU8);
}

}  // namespace snn
