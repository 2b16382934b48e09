/**
 * The policy YAML editor (CodeMirror 6), loaded on demand by the policy page: YAML highlighting,
 * line numbers, lint as you type through POST /v1/policies/lint (debounced; each issue in the
 * gutter and underlined), and key completion from the policy's JSON Schema at the cursor's path.
 * Tab indents; Escape then Tab moves focus on (CodeMirror's tab focus mode).
 */
import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { yaml } from '@codemirror/lang-yaml';
import { forceLinting, linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { keyAtCursor, keysAt } from './policy-completion';
import type { LintIssue } from './policy-api';

export interface PolicyEditorOptions {
  parent: HTMLElement;
  text: string;
  /** The accessible name of the text area, and the id of the help text that says how to leave it. */
  label: string;
  describedBy: string;
  /** Lints the text (the API); undefined when the call failed (then the last issues stay). */
  lint: (text: string) => Promise<LintIssue[] | undefined>;
  schema: object | undefined;
  onChange: (text: string) => void;
  onIssues: (issues: LintIssue[]) => void;
}

export interface PolicyEditor {
  /** Puts the cursor at a 1-based line and column and focuses the editor. */
  goTo(line: number, column: number): void;
  text(): string;
  destroy(): void;
}

const LINT_DELAY_MS = 400;

export function createPolicyEditor(options: PolicyEditorOptions): PolicyEditor {
  const position = (state: EditorState, line: number, column: number) => {
    const at = state.doc.line(Math.min(Math.max(line, 1), state.doc.lines));
    return Math.min(at.from + Math.max(column, 1) - 1, at.to);
  };

  const lintSource = async (view: EditorView): Promise<Diagnostic[]> => {
    const text = view.state.doc.toString();
    const issues = await options.lint(text);
    if (!issues || view.state.doc.toString() !== text) return [];
    options.onIssues(issues);
    return issues.map((issue) => {
      const from = position(view.state, issue.line, issue.column);
      const lineEnd = view.state.doc.lineAt(from).to;
      return { from, to: Math.max(from, lineEnd), severity: issue.severity, source: issue.code, message: `${issue.message} (${issue.path})` };
    });
  };

  const completeKeys = (context: CompletionContext): CompletionResult | null => {
    if (!options.schema) return null;
    const found = keyAtCursor(context.state.sliceDoc(0, context.pos), context.pos);
    if (!found || (found.from === context.pos && !context.explicit)) return null;
    const keys = keysAt(options.schema, found.path);
    if (keys.length === 0) return null;
    return {
      from: found.from,
      options: keys.map(({ key, description }) => ({ label: key, type: 'property', apply: `${key}: `, ...(description ? { info: description } : {}) })),
      validFor: /^[\w$]*$/,
    };
  };

  // In a shadow root of its own: there CodeMirror's styles go to adopted style sheets, which the
  // page's Content-Security-Policy (no inline <style>) allows; in the document they would be a <style> tag.
  const root = options.parent.shadowRoot ?? options.parent.attachShadow({ mode: 'open' });
  const view = new EditorView({
    parent: root,
    root,
    state: EditorState.create({
      doc: options.text,
      extensions: [
        basicSetup,
        // Tab indents (two spaces, as YAML wants); after Escape, Tab leaves the editor instead.
        keymap.of([{ key: 'Tab', run: (v) => (v.dispatch(v.state.replaceSelection('  '), { scrollIntoView: true }), true) }]),
        yaml(),
        lintGutter(),
        linter(lintSource, { delay: LINT_DELAY_MS }),
        autocompletion({ override: [completeKeys] }),
        EditorView.theme({
          '&': { maxHeight: '60vh', fontSize: '0.9rem' },
          '&.cm-focused': { outline: '3px solid #0b5cad', outlineOffset: '2px' },
          '.cm-scroller': { overflow: 'auto' },
        }),
        // tabindex: axe counts a contenteditable as focusable only with it (scrollable-region-focusable).
        EditorView.contentAttributes.of({ 'aria-label': options.label, 'aria-describedby': options.describedBy, tabindex: '0' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  forceLinting(view);

  return {
    goTo(line, column) {
      const at = position(view.state, line, column);
      view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
      view.focus();
    },
    text: () => view.state.doc.toString(),
    destroy: () => view.destroy(),
  };
}
