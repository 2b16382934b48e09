/** PoE documents: list, download, inline preview (sandboxed), remove while editable, drag-and-drop upload. */
import { useEffect, useState } from 'preact/hooks';
import { authHeaders, ifMatch, problemOf } from '../api/client';
import type { Claim, PoeDocument } from '../api/contract';
import { formatInstant } from '../deadlines';
import { t } from '../i18n/i18n';
import { productCodes } from '../policy';

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

/** The file inline, fetched when opened: images in an <img>, PDFs in a sandboxed frame; both from an object URL. */
function PoePreview({ doc }: { doc: PoeDocument }) {
  const [open, setOpen] = useState(false);
  const [url, setUrl] = useState<string | undefined>();
  useEffect(() => {
    if (!open) return;
    let made: string | undefined;
    poeBlobUrl(doc).then((u) => setUrl((made = u)), () => {});
    return () => {
      if (made) URL.revokeObjectURL(made);
    };
  }, [doc.href, open]);
  const title = `${t('claim.preview')}: ${doc.fileName}`;
  return (
    <details class="poe-preview-box" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>{t('claim.preview')}</summary>
      {url && (doc.contentType?.startsWith('image/') ? <img class="poe-preview" src={url} alt={title} /> : <iframe class="poe-preview" src={url} sandbox="" title={title} />)}
    </details>
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

/** Fetches a PoE file with the user's token (a link cannot carry it) as an object URL. */
async function poeBlobUrl(doc: PoeDocument): Promise<string> {
  const res = await fetch(doc.href!, { headers: authHeaders() });
  if (!res.ok) throw problemOf(res.status, await res.json().catch(() => undefined));
  return URL.createObjectURL(await res.blob());
}
