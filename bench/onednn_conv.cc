// oneDNN convolutions of the CIFAR ResNets' layer shapes, by data type and layout, straight through oneDNN's API (the
// library libtorch-dev links): float32 NCHW (plain), NHWC and blocked (nChw16c, what libtorch reorders into), uint8
// spikes (15 % ones) x int8 weights with and without the sum post-op, bfloat16 NHWC; the implementation each one picks
// goes to stderr. The numbers behind docs/results/inference.md ("The 8-bit option").
// usage: g++ -O2 -std=c++17 -o /tmp/onednn-conv bench/onednn_conv.cc -ldnnl && OMP_NUM_THREADS=2 /tmp/onednn-conv [N=100]
#include <oneapi/dnnl/dnnl.hpp>
#include <chrono>
#include <cstdio>
#include <vector>
#include <cstdlib>
#include <cstring>
using namespace dnnl;
using tag = memory::format_tag; using dt = memory::data_type;
static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double run(engine& eng, stream& s, int N, int C, int O, int H, int stride, dt sdt, tag stag, dt ddt, bool sum, int iters) {
  int OH = H / stride;
  memory::dims src{N, C, H, H}, wei{O, C, 3, 3}, bia{O}, dst{N, O, OH, OH};
  auto src_md = memory::desc(src, sdt, stag);
  auto wei_any = memory::desc(wei, sdt == dt::u8 ? dt::s8 : sdt, tag::any);
  auto bia_md = memory::desc(bia, dt::f32, tag::x);
  auto dst_md = memory::desc(dst, ddt, stag);
  auto d = convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_md, wei_any, bia_md, dst_md, {stride, stride}, {1, 1}, {1, 1});
  primitive_attr attr;
  if (sdt == dt::u8) attr.set_output_scales(2, std::vector<float>(O, 0.01f));
  if (sum) { post_ops po; po.append_sum(1.f); attr.set_post_ops(po); }
  auto pd = convolution_forward::primitive_desc(d, attr, eng);
  memory sm(src_md, eng), wm(pd.weights_desc(), eng), bm(bia_md, eng), dm(dst_md, eng);
  // spikes: ~15% ones
  if (sdt == dt::u8) { auto* p = (uint8_t*)sm.get_data_handle(); for (size_t i = 0; i < src_md.get_size(); i++) p[i] = (rand() % 100) < 15; }
  else if (sdt == dt::f32) { auto* p = (float*)sm.get_data_handle(); for (size_t i = 0; i < src_md.get_size() / 4; i++) p[i] = (rand() % 100) < 15; }
  else memset(sm.get_data_handle(), 0, src_md.get_size());
  memset(wm.get_data_handle(), 1, pd.weights_desc().get_size());
  memset(bm.get_data_handle(), 0, bia_md.get_size());
  memset(dm.get_data_handle(), 0, dst_md.get_size());
  convolution_forward conv(pd);
  for (int i = 0; i < 3; i++) conv.execute(s, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, dm}});
  s.wait();
  double t0 = now();
  for (int i = 0; i < iters; i++) conv.execute(s, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, dm}});
  s.wait();
  double ms = (now() - t0) / iters * 1e3;
  static bool shown = false;
  (void)shown;
  fprintf(stderr, "  impl %s\n", pd.impl_info_str());
  return ms;
}
int main(int argc, char** argv) {
  int N = argc > 1 ? atoi(argv[1]) : 100;
  engine eng(engine::kind::cpu, 0); stream s(eng);
  struct L { int C, O, H, stride; } ls[] = {{16, 16, 32, 1}, {16, 32, 32, 2}, {32, 32, 16, 1}, {32, 64, 16, 2}, {64, 64, 8, 1}};
  for (auto l : ls) {
    double macs = double(N) * l.O * (l.H / l.stride) * (l.H / l.stride) * l.C * 9;
    double a = run(eng, s, N, l.C, l.O, l.H, l.stride, dt::f32, tag::nchw, dt::f32, false, 20);
    double b = run(eng, s, N, l.C, l.O, l.H, l.stride, dt::f32, tag::nhwc, dt::f32, false, 20);
    double c = run(eng, s, N, l.C, l.O, l.H, l.stride, dt::u8, tag::nhwc, dt::f32, false, 20);
    double e = run(eng, s, N, l.C, l.O, l.H, l.stride, dt::f32, tag::nChw16c, dt::f32, false, 20);
    double g = run(eng, s, N, l.C, l.O, l.H, l.stride, dt::bf16, tag::nhwc, dt::f32, false, 20);
    double d = run(eng, s, N, l.C, l.O, l.H, l.stride, dt::u8, tag::nhwc, dt::f32, true, 20);
    printf("C%d O%d H%d s%d: f32 nchw %.3f ms (%.1f GMAC/s)  f32 nhwc %.3f  u8 nhwc %.3f (%.1f GMAC/s)  u8+sum %.3f  f32 nChw16c %.3f  bf16 %.3f\n", l.C, l.O, l.H, l.stride, a, macs / a / 1e6, b, c, macs / c / 1e6, d, e, g);
  }
}
