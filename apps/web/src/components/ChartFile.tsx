import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, type RefObject, Suspense, useEffect, useRef, useState } from 'react';
import type { VisualizationSpec } from 'vega-embed';
import { useTRPC } from '../lib/trpc.js';
import { ErrorNote, Loading } from './ui.js';

const VegaChart = lazy(() => import('./VegaChart.js').then((module) => ({ default: module.VegaChart })));

/**
 * A chart DS Bro saved as a file (a Vega-Lite specification with its data inline), drawn once it is near the
 * screen: neither the file nor the chart library is fetched for a chart nobody scrolls to.
 */
export function ChartFile({ fileId, title }: { fileId: string; title: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const figure = useRef<HTMLElement>(null);
  const nearScreen = useNearScreen(figure);
  const spec = useQuery({
    queryKey: ['chart-spec', fileId],
    enabled: nearScreen,
    // A chart file never changes; its download address expires, so one is asked for each time.
    staleTime: Number.POSITIVE_INFINITY,
    queryFn: async () => {
      const { url } = await queryClient.fetchQuery({
        ...trpc.file.downloadUrl.queryOptions({ fileId }),
        staleTime: 0,
      });
      const response = await fetch(url);
      if (!response.ok) throw new Error(`The chart file could not be read (${response.status}).`);
      return (await response.json()) as VisualizationSpec;
    },
  });
  return (
    <figure ref={figure} className="my-2">
      <section
        // biome-ignore lint/a11y/noNoninteractiveTabindex: keyboard users must be able to scroll a chart wider than the screen (WCAG 2.1.1, axe's scrollable-region-focusable).
        tabIndex={0}
        aria-label={`Chart: ${title}`}
        className="min-h-24 w-fit max-w-full overflow-x-auto rounded border border-slate-200 bg-white p-2 focus-visible:outline-2 focus-visible:outline-indigo-500"
      >
        {spec.error ? <ErrorNote>{spec.error.message}</ErrorNote> : null}
        {spec.data ? (
          <Suspense fallback={<Loading label="Drawing the chart" />}>
            <VegaChart spec={spec.data} />
          </Suspense>
        ) : spec.error ? null : (
          <Loading label="Loading the chart" />
        )}
      </section>
      {/* The chart draws its title; the caption names the figure for screen readers. */}
      <figcaption className="sr-only">{title}</figcaption>
    </figure>
  );
}

/** Whether an element is on screen or close to it (then stays true: a drawn chart is kept). */
function useNearScreen(target: RefObject<HTMLElement | null>): boolean {
  const [near, setNear] = useState(false);
  useEffect(() => {
    const element = target.current;
    if (!element || near) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setNear(true);
      },
      { rootMargin: '200px' },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [target, near]);
  return near;
}
