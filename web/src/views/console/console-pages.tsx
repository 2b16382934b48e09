/**
 * The policy console for program managers (`/console/…`): each page registers one entry
 * here, and the console's landing page and its navigation list them in this order.
 */
import type { JSX } from 'preact';
import type { MessageKey } from '../../i18n/en';
import type { Session } from '../../session';
import { AssessmentReportPage } from './assessment-report';
import { BacktestPage } from './backtest-page';
import { CoveragePage } from './coverage-page';
import { DecisionsLogPage } from './decisions-log';
import { DIFF_PAGE } from './diff-page';
import { POLICY_PAGE } from './policy-page';
import { ScenarioPage } from './scenario-page';
import { ShadowReportPage } from './shadow-report';
import { SlaReportPage } from './sla-report';

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
  POLICY_PAGE,

  // diff (i11-editor)
  DIFF_PAGE,

  // scenarios: timeline pictures and coverage (i11-scenarios)
  { slug: 'scenarios', title: 'scenarios.title', summary: 'scenarios.summary', render: (props) => <ScenarioPage {...props} /> },
  { slug: 'coverage', title: 'coverage.title', summary: 'coverage.summary', render: (props) => <CoveragePage {...props} /> },

  // backtest (i12-backtest)
  { slug: 'backtest', title: 'backtest.title', summary: 'backtest.summary', render: (props) => <BacktestPage {...props} /> },

  // shadow report, SLA report, assessment report, decision log (i11-reports)
  { slug: 'shadow', title: 'console.shadow.title', summary: 'console.shadow.summary', render: () => <ShadowReportPage /> },
  { slug: 'sla', title: 'console.sla.title', summary: 'console.sla.summary', render: () => <SlaReportPage /> },
  { slug: 'assessment', title: 'console.assessment.title', summary: 'console.assessment.summary', render: () => <AssessmentReportPage /> },
  { slug: 'decisions', title: 'console.decisions.title', summary: 'console.decisions.summary', render: ({ rest }) => <DecisionsLogPage rest={rest} /> },
];
