import { useEffect, useRef, useState } from 'react';
import embed, { type VisualizationSpec } from 'vega-embed';
import { expressionInterpreter } from 'vega-interpreter';

/**
 * Draws a Vega-Lite specification. This module (and Vega with it, most of the app's weight) is loaded only when
 * a chart is about to be seen. Vega compiles its expressions with `new Function` unless given its interpreter,
 * which the app's Content Security Policy (no `unsafe-eval`) requires. SVG, so that the marks and their
 * labels are in the page for screen readers (Vega gives them ARIA roles and names) and for tests.
 */
export function VegaChart({ spec }: { spec: VisualizationSpec }) {
  const container = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string>();
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    let finalize: (() => void) | undefined;
    let unmounted = false;
    embed(element, spec, { renderer: 'svg', actions: false, ast: true, expr: expressionInterpreter }).then(
      (result) => {
        if (unmounted) result.finalize();
        else finalize = result.finalize;
      },
      (caught: unknown) => setError(caught instanceof Error ? caught.message : String(caught)),
    );
    return () => {
      unmounted = true;
      finalize?.();
    };
  }, [spec]);
  return (
    <>
      <div ref={container} />
      {error ? <p className="text-sm text-red-700">This chart could not be drawn: {error}</p> : null}
    </>
  );
}
