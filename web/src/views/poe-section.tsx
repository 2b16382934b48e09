/** PoE documents: list, download, inline preview (PDF pages on a canvas, images), remove while editable, drag-and-drop upload. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { authHeaders, ifMatch, problemOf } from '../api/client';
import type { Claim, PoeDocument } from '../api/contract';
import { formatInstant } from '../deadlines';
import { t } from '../i18n/i18n';
import { productCodes } from '../policy';
import type * as PdfModule from './pdf-pages';
import type { PdfPages } from './pdf-pages';

/** Where the PDF renderer (./pdf-pages with pdf.js) is served: defined by the build. */
declare const PDF_PAGES_URL: string;

export function PoeSection(props: {
  claim: Claim;
  canUpload: boolean;
  canRemove: boolean;
  preview: boolean;
  onChanged: () => void;
  onError: (message: string) => void;
}) {
  const { claim } = props;
  const docs = (claim.poe ?? []) as PoeDocument[];
  const download = async (doc: PoeDocument) => {
    try {
      const url = await poeBlobUrl(doc);
      const a = document.createElement('a');
      a.href = url;
      a.download = doc.fileName;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      props.onError((e as Error).message);
    }
  };
  const remove = async (doc: PoeDocument) => {
    const res = await fetch(`/v1/claims/${encodeURIComponent(claim.id)}/actions/removePoe`, {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': 'application/json', 'If-Match': ifMatch(claim.version) },
      body: JSON.stringify({ poeId: doc.id }),
    });
    if (!res.ok) props.onError(t('claim.refused', { detail: problemOf(res.status, await res.json().catch(() => undefined)).message }));
    else props.onChanged();
  };
  return (
    <section class="card" aria-labelledby="poe-h">
      <h2 id="poe-h">{t('claim.poe')}</h2>
      {docs.length === 0 && <p class="muted">{t('claim.noPoe')}</p>}
      <ul class="poe-list">
        {docs.map((doc) => (
          <li key={doc.id} class="poe">
            <div class="poe-head">
              <strong>{doc.fileName}</strong>
              <span class="muted small">
                {doc.customerSigned ? `✓ ${t('claim.customerSigned')}` : `✗ ${t('claim.customerSigned')}`}
                {doc.signedOn ? ` · ${doc.signedOn}` : ''} · {doc.products.join(', ')} · {formatInstant(doc.uploadedAt)}
              </span>
            </div>
            <div class="actions">
              {doc.href && (
                <button type="button" class="btn btn-small" onClick={() => void download(doc)} aria-label={`${t('claim.download')} ${doc.fileName}`}>
                  {t('claim.download')}
                </button>
              )}
              {props.canRemove && (
                <button type="button" class="btn btn-small btn-danger" onClick={() => void remove(doc)} aria-label={`${t('claim.remove')} ${doc.fileName}`}>
                  {t('claim.remove')}
                </button>
              )}
            </div>
            {props.preview && doc.href && <PoePreview doc={doc} />}
          </li>
        ))}
      </ul>
      {props.canUpload && <Upload claim={claim} onChanged={props.onChanged} onError={props.onError} />}
    </section>
  );
}

/** What the preview shows of a document: PDFs drawn page by page, images as they are, nothing else. */
const previewKind = (doc: PoeDocument): 'pdf' | 'image' | undefined => {
  const type = doc.contentType ?? '';
  if (type === 'application/pdf' || (!type && /\.pdf$/i.test(doc.fileName))) return 'pdf';
  if (type.startsWith('image/')) return 'image';
  return undefined;
};

/**
 * The file inline, fetched with the user's token when the preview opens: a PDF drawn on a canvas
 * by pdf.js (its code fetched then, not with the app), an image in an <img> from a blob URL.
 * Page buttons step through a PDF (PageUp/PageDown too); Escape or Close shuts the preview and
 * gives the focus back to its button.
 */
function PoePreview({ doc }: { doc: PoeDocument }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const id = `preview-${doc.id}`;
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  return (
    <div class="poe-preview-box">
      <button ref={button} type="button" class="btn btn-small" aria-expanded={open} aria-controls={id} onClick={() => (open ? close() : setOpen(true))}>
        {t('preview.open', { name: doc.fileName })}
      </button>
      {open && <PreviewPanel id={id} doc={doc} onClose={close} />}
    </div>
  );
}

function PreviewPanel({ id, doc, onClose }: { id: string; doc: PoeDocument; onClose: () => void }) {
  const kind = previewKind(doc);
  const panel = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [image, setImage] = useState<string | undefined>();
  const [pdf, setPdf] = useState<PdfPages | undefined>();
  const [pageNo, setPageNo] = useState(1);
  const [failed, setFailed] = useState('');
  const title = `${t('claim.preview')}: ${doc.fileName}`;

  useEffect(() => panel.current?.focus(), []);
  useEffect(() => {
    if (!kind) return;
    let live = true;
    let made: string | undefined;
    let opened: PdfPages | undefined;
    const fail = (e: Error) => live && setFailed(e.message);
    if (kind === 'image')
      poeBlobUrl(doc).then((url) => {
        made = url;
        if (live) setImage(url);
        else URL.revokeObjectURL(url);
      }, fail);
    else
      Promise.all([poeBytes(doc), import(/* the renderer, built apart (scripts/build.mjs) */ PDF_PAGES_URL) as Promise<typeof PdfModule>])
        .then(([bytes, { openPdf }]) => openPdf(bytes))
        .then((pages) => {
          opened = pages;
          if (live) setPdf(pages);
          else void pages.close();
        }, fail);
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
      void opened?.close();
    };
  }, [doc.href]);
  useEffect(() => {
    if (!pdf || !canvas.current) return;
    const width = Math.min(800, (panel.current?.clientWidth ?? 800) - 24);
    pdf.draw(pageNo, canvas.current, width).catch((e: Error) => setFailed(e.message));
  }, [pdf, pageNo]);

  const count = pdf?.count ?? 1;
  const go = (n: number) => setPageNo(Math.min(count, Math.max(1, n)));
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onClose();
    } else if (pdf && e.key === 'PageDown') {
      e.preventDefault();
      go(pageNo + 1);
    } else if (pdf && e.key === 'PageUp') {
      e.preventDefault();
      go(pageNo - 1);
    }
  };
  return (
    <div id={id} ref={panel} class="poe-viewer" role="region" aria-label={title} tabIndex={-1} onKeyDown={onKeyDown}>
      <div class="poe-viewer-bar">
        {pdf && (
          <>
            <button type="button" class="btn btn-small" onClick={() => go(pageNo - 1)} disabled={pageNo <= 1}>
              ‹ {t('preview.previous')}
            </button>
            <span class="muted small" aria-live="polite">
              {t('preview.page', { n: pageNo, count })}
            </span>
            <button type="button" class="btn btn-small" onClick={() => go(pageNo + 1)} disabled={pageNo >= count}>
              {t('preview.next')} ›
            </button>
          </>
        )}
        <button type="button" class="btn btn-small btn-quiet poe-viewer-close" onClick={onClose}>
          {t('preview.close')}
        </button>
      </div>
      {!kind && <p class="muted">{t('preview.unsupported')}</p>}
      {failed && (
        <p class="alert alert-error" role="alert">
          {t('preview.failed', { detail: failed })}
        </p>
      )}
      {kind && !failed && !image && !pdf && <p class="muted">{t('preview.loading')}</p>}
      {image && <img class="poe-preview" src={image} alt={title} />}
      {kind === 'pdf' && !failed && <canvas ref={canvas} class="poe-page" role="img" aria-label={`${title}, ${t('preview.page', { n: pageNo, count })}`} hidden={!pdf} />}
    </div>
  );
}

function Upload({ claim, onChanged, onError }: { claim: Claim; onChanged: () => void; onError: (m: string) => void }) {
  const [file, setFile] = useState<File | undefined>();
  const [signed, setSigned] = useState(true);
  const [signedOn, setSignedOn] = useState('');
  const [describesWork, setDescribesWork] = useState(true);
  const codes = productCodes(claim);
  const [covers, setCovers] = useState<string[]>(codes);
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    const form = new FormData();
    form.set('customerSigned', String(signed));
    if (signedOn) form.set('signedOn', signedOn);
    for (const code of covers) form.append('products', code);
    form.set('describesWork', String(describesWork));
    form.set('file', file, file.name);
    try {
      const res = await fetch(`/v1/claims/${encodeURIComponent(claim.id)}/poe`, { method: 'POST', headers: authHeaders(), body: form });
      if (!res.ok) throw problemOf(res.status, await res.json().catch(() => undefined));
      setFile(undefined);
      onChanged();
    } catch (err) {
      onError(t('claim.refused', { detail: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form upload" onSubmit={submit}>
      <div
        class={`dropzone${over ? ' dropzone-over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const dropped = e.dataTransfer?.files[0];
          if (dropped) setFile(dropped);
        }}
      >
        <p>{file ? file.name : t('claim.drop')}</p>
        <label class="btn btn-small">
          {t('claim.chooseFile')}
          <input class="visually-hidden" type="file" name="file" accept=".pdf,.png,.jpg,.jpeg,.docx,.msg,.eml,application/pdf,image/*" onChange={(e) => setFile((e.currentTarget as HTMLInputElement).files?.[0])} />
        </label>
      </div>
      <div class="row">
        <label class="check">
          <input type="checkbox" checked={signed} onChange={() => setSigned(!signed)} />
          {t('claim.customerSigned')}
        </label>
        <label class="check">
          <input type="checkbox" checked={describesWork} onChange={() => setDescribesWork(!describesWork)} />
          {t('claim.describesWork')}
        </label>
        <label>
          {t('claim.signedOn')}
          <input type="date" value={signedOn} onInput={(e) => setSignedOn((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <fieldset>
        <legend>{t('claim.covers')}</legend>
        {codes.map((code) => (
          <label key={code} class="check">
            <input type="checkbox" checked={covers.includes(code)} onChange={() => setCovers((c) => (c.includes(code) ? c.filter((x) => x !== code) : [...c, code]))} />
            {code}
          </label>
        ))}
      </fieldset>
      <button type="submit" class="btn btn-primary" disabled={!file || busy}>
        {busy ? t('claim.uploading') : t('claim.upload')}
      </button>
    </form>
  );
}

/** Fetches a PoE file with the user's token (a link cannot carry it). */
async function poeBlob(doc: PoeDocument): Promise<Blob> {
  const res = await fetch(doc.href!, { headers: authHeaders() });
  if (!res.ok) throw problemOf(res.status, await res.json().catch(() => undefined));
  return res.blob();
}

/** The file as an object URL (revoke it when done). */
const poeBlobUrl = async (doc: PoeDocument) => URL.createObjectURL(await poeBlob(doc));

const poeBytes = async (doc: PoeDocument) => new Uint8Array(await (await poeBlob(doc)).arrayBuffer());
