/** Surrogate gradients of the spike function, one file each, and the way to add your own. */
export { type Surrogate, type BuiltinSurrogate, type SurrogateName, SURROGATE_KIND, nativeSurrogateKind } from './surrogate.js';
export { rectangle } from './rectangle.js';
export { triangle } from './triangle.js';
export { exponential } from './exponential.js';
export { sigmoid } from './sigmoid.js';
export { atan } from './atan.js';
export { dspike } from './dspike.js';
export { defineSurrogate, type SurrogateSpec } from './define.js';
export { makeSurrogate, parseSurrogate, registerSurrogate, surrogateNames } from './parse.js';
