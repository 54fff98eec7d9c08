/** Surrogate gradients of the spike function, one file each. */
export { type Surrogate, type SurrogateName, SURROGATE_KIND } from './surrogate.js';
export { rectangle } from './rectangle.js';
export { triangle } from './triangle.js';
export { exponential } from './exponential.js';
export { sigmoid } from './sigmoid.js';
export { atan } from './atan.js';
export { dspike } from './dspike.js';
export { makeSurrogate, parseSurrogate } from './parse.js';
