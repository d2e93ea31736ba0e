"use client";

// The flavour page's unsaved layers, shared between the editor (which owns them) and the parts of the page around it:
// the header's build button ("Save and build" while changes are unsaved), the fork banner, and the guard that asks
// before the page is left.
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from "react";
import { useRouter } from "next/navigation";
import { BuildButton } from "../builds/build-button";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { ProblemAlert } from "../ui/problem";

export interface DraftState {
  dirty: boolean;
  layerCount: number;
}

interface DraftContextValue {
  draft: DraftState;
  setDraft: (draft: DraftState) => void;
  /** Saves the unsaved changes as a new revision and returns its number; throws the save's error. Set by the editor. */
  save: RefObject<(() => Promise<number>) | null>;
  registerSave: (save: () => Promise<number>) => void;
}

const DraftContext = createContext<DraftContextValue | null>(null);

export const LEAVE_QUESTION = "This flavour has unsaved changes to its layers. Leave the page and lose them? (Cancel stays here, so you can save a revision first.)";

export function FlavourDraftProvider({ initialLayerCount, children }: { initialLayerCount: number; children: ReactNode }) {
  const [draft, setDraft] = useState<DraftState>({ dirty: false, layerCount: initialLayerCount });
  const save = useRef<(() => Promise<number>) | null>(null);
  const value = useMemo(
    () => ({
      draft,
      setDraft,
      save,
      registerSave: (next: () => Promise<number>) => {
        save.current = next;
      },
    }),
    [draft],
  );
  return <DraftContext.Provider value={value}>{children}</DraftContext.Provider>;
}

/** The editor's side: reports its state, offers its save, and guards leaving the page while changes are unsaved. */
export function useDraftReporter(draft: DraftState, save: () => Promise<number>) {
  const context = useContext(DraftContext);
  const setDraft = context?.setDraft;
  const registerSave = context?.registerSave;
  const { dirty, layerCount } = draft;
  useEffect(() => {
    setDraft?.({ dirty, layerCount });
  }, [setDraft, dirty, layerCount]);
  useEffect(() => {
    registerSave?.(save);
  });
  useLeaveGuard(draft.dirty);
}

/**
 * While `active`: closing or reloading the tab asks (beforeunload), and so does following a link inside the app. The
 * App Router has no route-change event to cancel, so link clicks are caught in the capture phase on window, before
 * Next's <Link> handler (on the React root) sees them.
 */
export function useLeaveGuard(active: boolean) {
  useEffect(() => {
    if (!active) return;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      // Older Chromium needs returnValue set to show the dialog.
      event.returnValue = "";
    };
    const onClick = (event: MouseEvent) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const anchor = (event.target as Element | null)?.closest?.("a[href]");
      if (!(anchor instanceof HTMLAnchorElement)) return;
      // Downloads and new tabs leave this page as it is.
      if (anchor.hasAttribute("download") || (anchor.target && anchor.target !== "_self")) return;
      const to = new URL(anchor.href, window.location.href);
      if (to.origin === window.location.origin && to.pathname === window.location.pathname && to.search === window.location.search) return;
      if (window.confirm(LEAVE_QUESTION)) return;
      event.preventDefault();
      event.stopPropagation();
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    window.addEventListener("click", onClick, true);
    return () => {
      window.removeEventListener("beforeunload", onBeforeUnload);
      window.removeEventListener("click", onClick, true);
    };
  }, [active]);
}

/** Children only while the flavour has no layers, saved or not (the fork banner says to add some). */
export function WhileNoLayers({ children }: { children: ReactNode }) {
  const context = useContext(DraftContext);
  return context && context.draft.layerCount > 0 ? null : <>{children}</>;
}

/**
 * The header's build action. With nothing unsaved: "Build rN". With unsaved changes, building rN would silently leave
 * them out, so it says so and offers "Save and build": the revision is saved, then a build of it starts.
 */
export function FlavourBuildAction({ flavourId, revision }: { flavourId: string; revision: number }) {
  const router = useRouter();
  const context = useContext(DraftContext);
  const [pending, setPending] = useState<"saving" | "starting" | null>(null);
  const [failure, setFailure] = useState<{ title: string; error: unknown } | null>(null);
  const dirty = context?.draft.dirty ?? false;

  async function saveAndBuild() {
    const save = context?.save.current;
    if (!save) return;
    setFailure(null);
    setPending("saving");
    let saved: number;
    try {
      saved = await save();
    } catch (error) {
      setFailure({ title: "The revision was not saved, so no build started. Fix the problems marked below, then try again.", error });
      setPending(null);
      return;
    }
    setPending("starting");
    try {
      const started = await api<{ id: string }>(`/api/v1/flavours/${flavourId}/builds`, { body: { revision: saved } });
      router.push(`/builds/${started.id}`);
    } catch (error) {
      setFailure({ title: `Revision ${saved} was saved, but its build did not start.`, error });
      setPending(null);
    }
  }

  const problem = failure && (
    <div className="max-w-md text-left">
      <ProblemAlert error={failure.error} title={failure.title} />
    </div>
  );

  if (!dirty && pending === null)
    return (
      <div className="flex flex-col items-end gap-2">
        <BuildButton flavourId={flavourId} revision={revision} label={`Build r${revision}`} />
        {problem}
      </div>
    );

  return (
    <div role="group" aria-label="Build" className="flex max-w-sm flex-col items-end gap-2">
      <p className="text-right text-sm text-amber-800">Unsaved changes: revision {revision} does not have them. Save them as a new revision to build them.</p>
      <Button type="button" onClick={saveAndBuild} disabled={pending !== null} aria-busy={pending !== null || undefined}>
        {pending === "saving" ? "Saving…" : pending === "starting" ? "Starting build…" : "Save and build"}
      </Button>
      {problem}
    </div>
  );
}
