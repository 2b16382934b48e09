/**
 * A PDF's pages drawn on a <canvas> by pdf.js. Loaded lazily (its own chunk, fetched when a
 * preview opens), it imports nothing of the app so the main bundle does not carry it. pdf.js
 * parses in its worker, served from this origin (/assets, named by its content hash: the build
 * defines PDF_WORKER_URL); the document is handed over as bytes, so pdf.js fetches nothing, and
 * it never evaluates strings as code (the page's CSP forbids it anyway).
 */
import { getDocument, GlobalWorkerOptions, type PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

declare const PDF_WORKER_URL: string;

/** An open PDF: its page count, and each page drawn to fit a width. */
export interface PdfPages {
  readonly count: number;
  /** Draws page `n` (1-based) on `canvas`, `width` CSS pixels wide (sharp on high-density screens). */
  draw(n: number, canvas: HTMLCanvasElement, width: number): Promise<void>;
  close(): Promise<void>;
}

export async function openPdf(bytes: Uint8Array): Promise<PdfPages> {
  GlobalWorkerOptions.workerSrc = PDF_WORKER_URL;
  const doc: PDFDocumentProxy = await getDocument({
    data: bytes,
    isEvalSupported: false,
    enableXfa: false,
    useWasm: false,
    useWorkerFetch: false,
    useSystemFonts: true,
    disableAutoFetch: true,
    disableStream: true,
    disableRange: true,
  }).promise;
  let task: { cancel(): void; promise: Promise<void> } | undefined;
  return {
    count: doc.numPages,
    async draw(n, canvas, width) {
      task?.cancel();
      const page = await doc.getPage(n);
      const base = page.getViewport({ scale: 1 });
      const ratio = window.devicePixelRatio || 1;
      const viewport = page.getViewport({ scale: (width / base.width) * ratio });
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.style.width = `${Math.floor(viewport.width / ratio)}px`;
      canvas.style.height = `${Math.floor(viewport.height / ratio)}px`;
      const current = page.render({ canvas, viewport });
      task = current;
      try {
        await current.promise;
      } catch (error) {
        // A newer draw cancelled this one: not a failure.
        if ((error as Error).name !== 'RenderingCancelledException') throw error;
      }
    },
    close: () => doc.destroy(),
  };
}
