/**
 * The timeline picture as the page shows it: the API's SVG parsed as XML and kept only if it is
 * made of the elements and attributes the renderer writes (no script, no foreign content, no
 * event handler, no link out), then scaled to the page's width.
 */
import { useEffect, useRef } from 'preact/hooks';

const ELEMENTS = new Set(['svg', 'title', 'desc', 'defs', 'pattern', 'rect', 'line', 'text', 'tspan', 'g', 'path']);
const ATTRIBUTES = new Set([
  'xmlns', 'width', 'height', 'viewBox', 'role', 'aria-labelledby', 'aria-hidden', 'font-family', 'font-size', 'font-weight',
  'id', 'x', 'y', 'x1', 'y1', 'x2', 'y2', 'rx', 'd', 'fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-dasharray',
  'stroke-linecap', 'text-anchor', 'patternUnits', 'patternTransform',
]);

/** The picture as a safe element, or null when the text is not such a picture. */
function safeSvg(text: string): SVGSVGElement | null {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.nodeName !== 'svg' || doc.getElementsByTagName('parsererror').length > 0) return null;
  for (const element of [root, ...Array.from(root.getElementsByTagName('*'))]) {
    if (!ELEMENTS.has(element.nodeName)) return null;
    for (const { name, value } of Array.from(element.attributes)) {
      // Paint may only refer to the picture's own patterns.
      if (!ATTRIBUTES.has(name) || (/url\(/i.test(value) && !/^url\(#[\w-]+\)$/.test(value))) return null;
    }
  }
  const svg = document.importNode(root, true) as unknown as SVGSVGElement;
  svg.setAttribute('width', '100%');
  svg.removeAttribute('height');
  return svg;
}

/** Shows the picture (or nothing when it is not a safe one). */
export function TimelinePicture(props: { svg: string; onRefused: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const { svg, onRefused } = props;
  useEffect(() => {
    const element = safeSvg(svg);
    box.current?.replaceChildren(...(element ? [element] : []));
    if (!element) onRefused();
  }, [svg]);
  return <div class="timeline-picture" ref={box} />;
}
