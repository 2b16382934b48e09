/**
 * The policy console for program managers (`/console/…`): each page registers one entry
 * here, and the console's landing page and its navigation list them in this order.
 */
import type { JSX } from 'preact';
import type { MessageKey } from '../../i18n/en';
import type { Session } from '../../session';
import { BacktestPage } from './backtest-page';

export interface ConsolePageProps {
  session: Session;
  /** The path below `/console/<slug>/`, decoded (e.g. `['cpor', '2026.2']`). */
  rest: string[];
}

export interface ConsolePage {
  /** The URL segment: `/console/<slug>`. */
  slug: string;
  title: MessageKey;
  summary: MessageKey;
  render: (props: ConsolePageProps) => JSX.Element;
}

/** One line per page, in navigation order. */
export const CONSOLE_PAGES: ConsolePage[] = [
  // policy versions, editor and lint (i11-editor)

  // diff (i11-editor)

  // scenarios: timeline pictures and coverage (i11-scenarios)

  // backtest (i12-backtest)
  { slug: 'backtest', title: 'backtest.title', summary: 'backtest.summary', render: (props) => <BacktestPage {...props} /> },

  // shadow report, SLA report, assessment report, decision log (i11-reports)
];
