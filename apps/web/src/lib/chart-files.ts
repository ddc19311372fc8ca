/**
 * The content type of a chart DS Bro made (a Vega-Lite specification with its data inline), as the API's
 * `VEGA_LITE_CONTENT_TYPE`: importing that at runtime would bring the API's schemas (and zod) into the bundle.
 */
export const CHART_CONTENT_TYPE = 'application/vnd.vegalite.v5+json';
