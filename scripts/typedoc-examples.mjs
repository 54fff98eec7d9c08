// A TypeDoc plugin: every exported function and class of the public API shows an @example (in its own comment, a
// signature's, or for a class its constructor's). Missing ones are warnings, which typedoc.json turns into errors.
import { Converter, ReflectionKind } from 'typedoc';

const hasExample = (c) => Boolean(c?.blockTags?.some((t) => t.tag === '@example'));

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    for (const r of context.project.getReflectionsByKind(ReflectionKind.Function | ReflectionKind.Class)) {
      const ctor = r.kindOf(ReflectionKind.Class) ? r.children?.find((c) => c.kindOf(ReflectionKind.Constructor)) : undefined;
      const comments = [r.comment, ...(r.signatures ?? []).map((s) => s.comment), ...(ctor?.signatures ?? []).map((s) => s.comment)];
      const where = r.sources?.[0] ? `, defined in ${r.sources[0].fileName}` : "";
      if (!comments.some(hasExample)) app.logger.warn(`${r.getFullName()} (${ReflectionKind.singularString(r.kind)})${where}, has no @example`);
    }
  });
}
