/** `/console`: the program manager's landing page, one card per console page. */
import { t } from '../../i18n/i18n';
import { link } from '../../router';
import { CONSOLE_PAGES } from './console-pages';

export function ConsoleHome() {
  return (
    <section>
      <h1>{t('console.title')}</h1>
      <p>{t('console.intro')}</p>
      <ul class="cards">
        {CONSOLE_PAGES.map((page) => (
          <li key={page.slug} class="card">
            <h2>
              <a {...link(`/console/${page.slug}`)}>{t(page.title)}</a>
            </h2>
            <p>{t(page.summary)}</p>
          </li>
        ))}
      </ul>
    </section>
  );
}
