/** Rectangle surrogate: g(x) = (1/a) [|x| < a/2] (docs/methods.md §2). */
import { builtinSurrogate, type BuiltinSurrogate, positiveParam } from './surrogate.js';

/**
 * @param opts a: the window width (default 1)
 * @returns the surrogate; its primitive is clamp(x/a + 1/2, 0, 1)
 * @throws SnnkitError when a is not a positive finite number
 * @example new LIF({ surrogate: rectangle({ a: 1 }) })
 */
export function rectangle(opts: { a?: number } = {}): BuiltinSurrogate {
  const a = positiveParam('rectangle', 'a', opts.a ?? 1);
  return builtinSurrogate({
    name: 'rectangle', param: a,
    grad: (x) => x.abs().lt(a / 2).to(x.dtype).div(a),
    primitive: (x) => x.div(a).add(0.5).clamp(0, 1),
    toString: () => `rectangle(a=${a})`,
  });
}
