/**
 * 8-bit convolution of spikes (native/src/ops/spikeconv.cc, through oneDNN): the low-precision option of the
 * simulation. Inputs are spike counts (0/1 spikes, or the few levels average pooling of spikes makes), exact in
 * 8 bits; weights are quantized to int8 with one scale per output channel; the sum is an exact integer, scaled once.
 */
import { native } from '../native/load.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Whether this build has the 8-bit convolution (built with Debian's oneDNN; a downloaded libtorch has none).
 * @example
 * if (!F.spikeConvAvailable()) console.log('8-bit simulation unavailable: run npm run setup on Debian');
 */
export function spikeConvAvailable(): boolean {
  return native.spikeConvInfo([1, 1, 4, 4, 1, 3, 3, 1, 1]) !== '';
}

/**
 * Symmetric per-output-channel int8 quantization of a weight: scale = max|w_o| / 127, q = round(w / scale).
 * @param w float32 [out, in, ...]
 * @returns { q: int8 like w, scale: float32 [out] }; q·scale is what the 8-bit convolution computes with
 * @example
 * const { q, scale } = quantizeWeight(conv.weight); // q.to('float32').mul(scale.reshape(-1, 1, 1, 1)) ≈ conv.weight
 */
export function quantizeWeight(w: Tensor): { q: Tensor; scale: Tensor } {
  const [q, scale] = native.spikeConvPack(w.handle);
  return { q: new Tensor(q), scale: new Tensor(scale) };
}

/**
 * The 8-bit convolution: `scale[o] · Σ q[o, c, i, j] · src[n, c, ...]`, added into `dst` with accumulate.
 * @param src uint8 [N, C, H, W] in channels_last memory (spikeCounts makes it)
 * @param q int8 [O, C, kh, kw]; scale float32 [O] (quantizeWeight, times the input's unit)
 * @returns float32 [N, O, OH, OW] in channels_last memory
 * @throws SnnkitError (UNSUPPORTED_OP) in a build without oneDNN; (INVALID_ARGUMENT) for wrong dtypes, layouts or shapes
 * @example
 * const { q, scale } = F.quantizeWeight(conv.weight.mul(vTh));           // vTh: the unit one spike carries
 * const y = F.spikeConv(F.spikeCounts(spikes, full([C], 1 / vTh)), q, scale, { stride: [1, 1], padding: [1, 1] });
 */
export function spikeConv(src: Tensor, q: Tensor, scale: Tensor, o: { stride: [number, number]; padding: [number, number]; dst?: Tensor; accumulate?: boolean }): Tensor {
  return new Tensor(native.spikeConv(src.handle, q.handle, scale.handle, o.stride, o.padding, o.dst?.handle, o.accumulate ?? false));
}

/**
 * Spike counts as uint8: x[n, c] · inv[c] rounded, in channels_last memory.
 * @param x float32 [N, C, H, W]: spikes (or pooled spikes) carrying a unit per channel
 * @param inv float32 [C]: levels / unit of each channel
 * @throws SnnkitError when a value is not a whole number of its unit in 0..255 (the input is not spikes)
 * @example
 * F.spikeCounts(tensor([[[[0, 0.5]], [[0.5, 0]]]]), full([2], 2)); // uint8 [[[[0, 1]], [[1, 0]]]], channels-last
 */
export function spikeCounts(x: Tensor, inv: Tensor): Tensor {
  return new Tensor(native.spikeCountsU8(x.handle, inv.handle));
}
