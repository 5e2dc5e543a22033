/** Chat beside an assessment: answers stream in, then show what they were built from. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { api, ok } from "../../api/client";
import { ApiError, errorMessage, sentence } from "../../api/errors";
import { streamEvents } from "../../api/stream";
import type { CitationRead, MessageRead } from "../../api/types";
import { Busy, ErrorText } from "../../components/Feedback";
import { Markdown } from "../../components/Markdown";

/** The newest conversation of yours about this assessment, with its messages; null when none. */
async function latestConversation(assessmentId: string, signal: AbortSignal) {
  const page = await ok(api().GET("/api/v1/chat/conversations", { params: { query: { limit: 100 } }, signal }));
  const found = page.items.find((c) => c.assessment_id === assessmentId);
  if (!found) return null;
  return ok(api().GET("/api/v1/chat/conversations/{conversation_id}", { params: { path: { conversation_id: found.id } }, signal }));
}

export interface ChatStreamHandlers {
  onQuestion: (message: MessageRead) => void;
  onDelta: (text: string) => void;
  onDone: (message: MessageRead) => void;
}

/** Sends a question and reads the answer's events: message, delta..., done (or error). */
export async function askStreaming(conversationId: string, content: string, handlers: ChatStreamHandlers, signal?: AbortSignal): Promise<void> {
  for await (const event of streamEvents(`/chat/conversations/${conversationId}/messages/stream`, { method: "POST", body: { content }, signal })) {
    const data = JSON.parse(event.data) as Record<string, unknown>;
    if (event.event === "message") handlers.onQuestion(data as unknown as MessageRead);
    else if (event.event === "delta") handlers.onDelta(String(data.text ?? ""));
    else if (event.event === "done") handlers.onDone(data as unknown as MessageRead);
    else if (event.event === "error") throw new Error(sentence(String(data.detail ?? "the answer could not be sent")));
  }
}

interface Draft {
  question: string;
  /** the server has stored the question (its `message` event came): it is in the list */
  stored: boolean;
  answer: string;
}

/** Questions an empty conversation offers: each is answered from the result, the last by a what-if the engine runs. */
export const SUGGESTIONS = [
  "Why did you pick this region?",
  "What are the biggest costs?",
  "How can we get within budget?",
  "What are the compliance gaps?",
  "What if traffic doubles?",
] as const;

export function ChatPanel({ assessmentId }: { assessmentId: string }) {
  const id = useId();
  const queryClient = useQueryClient();
  const key = ["chat", assessmentId];
  const conversation = useQuery({ queryKey: key, queryFn: ({ signal }) => latestConversation(assessmentId, signal), staleTime: Infinity });
  const [messages, setMessages] = useState<MessageRead[]>([]);
  const [conversationId, setConversationId] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [question, setQuestion] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [full, setFull] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const log = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (conversation.data) {
      setMessages(conversation.data.messages);
      setConversationId(conversation.data.id);
    }
  }, [conversation.data]);

  useEffect(() => () => abort.current?.abort(), []);
  // the conversation follows its newest words; only the log scrolls, never the page (a
  // scrollIntoView here moved a phone's page down past the results, to the chat, on load)
  useEffect(() => {
    const element = log.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [messages.length, draft?.answer]);

  const start = async (): Promise<string> => {
    const created = await ok(api().POST("/api/v1/chat/conversations", { body: { assessment_id: assessmentId } }));
    setConversationId(created.id);
    setMessages([]);
    setFull(false);
    return created.id;
  };

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const content = question.trim();
    if (!content || draft) return;
    setError(null);
    setDraft({ question: content, stored: false, answer: "" });
    setQuestion("");
    const controller = new AbortController();
    abort.current = controller;
    try {
      const target = conversationId ?? (await start());
      await askStreaming(
        target,
        content,
        {
          onQuestion: (m) => {
            setMessages((list) => [...list, m]);
            setDraft((d) => (d ? { ...d, stored: true } : d));
          },
          onDelta: (text) => setDraft((d) => (d ? { ...d, answer: d.answer + text } : d)),
          onDone: (m) => {
            setMessages((list) => [...list, m]);
            setDraft(null);
          },
        },
        controller.signal,
      );
      void queryClient.invalidateQueries({ queryKey: key });
    } catch (caught) {
      if (!controller.signal.aborted) {
        setError(caught);
        if (caught instanceof ApiError && caught.status === 409) setFull(true);
        // the question was not taken: give it back to edit
        setQuestion((q) => q || content);
      }
    } finally {
      setDraft(null);
      abort.current = null;
      input.current?.focus();
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  return (
    <section className="panel chat" aria-labelledby={`${id}-h`} id="chat">
      <h2 id={`${id}-h`}>Chat</h2>
      <p className="hint">Answers use this assessment's latest result and a knowledge base, and cite what they used.</p>
      {conversation.isPending ? <Busy label="Loading the conversation…" /> : null}
      <ErrorText error={conversation.error} />
      <div className="messages" role="log" aria-label="Conversation" ref={log}>
        <ol className="message-list">
        {messages.map((m) => (
          <li key={m.id} className={`message message-${m.role}`}>
            <Message message={m} />
          </li>
        ))}
        {draft && !draft.stored ? (
          <li className="message message-user">
            <p className="message-who">You</p>
            <p>{draft.question}</p>
          </li>
        ) : null}
        {draft ? (
          <li className="message message-assistant" aria-busy="true">
            <p className="message-who">Infra Mind</p>
            {draft.answer ? <Markdown text={draft.answer} /> : <Busy label="Writing the answer…" />}
          </li>
        ) : null}
        </ol>
      </div>
      <ErrorText error={error ? errorMessage(error) : null} />
      {full ? (
        <button type="button" onClick={() => void start().then(() => setError(null))}>
          Start a new conversation
        </button>
      ) : null}
      {!messages.length && !draft && !conversation.isPending ? (
        <div className="chat-suggestions">
          <p className="hint" id={`${id}-try`}>
            Questions to start with; a change of traffic, availability, where the data is kept or compliance is priced by the engine as a what-if:
          </p>
          <ul className="suggestions" aria-labelledby={`${id}-try`}>
            {SUGGESTIONS.map((s) => (
              <li key={s}>
                <button
                  type="button"
                  onClick={() => {
                    setQuestion(s);
                    input.current?.focus();
                  }}
                >
                  {s}
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <form onSubmit={send} className="chat-form">
        <div className="field">
          <label htmlFor={`${id}-q`}>Ask about this assessment</label>
          <textarea
            id={`${id}-q`}
            ref={input}
            rows={2}
            maxLength={4000}
            value={question}
            onChange={(e) => setQuestion(e.target.value)}
            onKeyDown={onKeyDown}
            aria-describedby={`${id}-keys`}
          />
          <p className="hint" id={`${id}-keys`}>
            Enter sends; Shift+Enter starts a new line.
          </p>
        </div>
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={!question.trim() || draft !== null}>
            Send
          </button>
          {draft ? (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
}

function Message({ message }: { message: MessageRead }) {
  const who = message.role === "user" ? "You" : "Infra Mind";
  return (
    <>
      <p className="message-who">{who}</p>
      {message.role === "user" ? <p>{message.content}</p> : <Markdown text={message.content} />}
      {message.citations.length ? <Citations citations={message.citations} /> : null}
      {message.note ? <p className="hint">{sentence(message.note)}</p> : null}
    </>
  );
}

export function Citations({ citations }: { citations: CitationRead[] }) {
  return (
    <div className="citations">
      <p className="citations-title">Sources</p>
      <ul aria-label="Sources">
        {citations.map((c) => (
          <li key={`${c.kind}-${c.id}`}>
            <span className="citation-kind">{c.kind === "fact" ? "Fact" : "Article"}</span>{" "}
            {c.url && /^https?:\/\//i.test(c.url) ? (
              <a href={c.url} target="_blank" rel="noopener noreferrer">
                {c.title}
              </a>
            ) : (
              c.title
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
