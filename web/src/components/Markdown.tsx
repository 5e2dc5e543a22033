/**
 * The Markdown the API writes (reports, narrative, chat answers), rendered as React elements:
 * headings, paragraphs, lists, **bold**, *italic*, `code` and links. No HTML is ever
 * injected, and a link is kept only when it is http(s).
 */
import { Fragment, type ReactNode } from "react";

type Block =
  | { kind: "heading"; text: string }
  | { kind: "paragraph"; text: string }
  | { kind: "list"; ordered: boolean; items: string[] };

export function parseBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  let list: { ordered: boolean; items: string[] } | null = null;
  const flush = () => {
    if (paragraph.length) blocks.push({ kind: "paragraph", text: paragraph.join("\n") });
    if (list) blocks.push({ kind: "list", ...list });
    paragraph = [];
    list = null;
  };
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (!line.trim()) {
      flush();
    } else if (heading) {
      flush();
      blocks.push({ kind: "heading", text: heading[1] ?? "" });
    } else if (bullet || numbered) {
      const ordered = !bullet;
      if (paragraph.length || (list && list.ordered !== ordered)) flush();
      list ??= { ordered, items: [] };
      list.items.push((bullet ?? numbered)?.[1] ?? "");
    } else if (list && /^\s+\S/.test(raw)) {
      // a continuation line of the last item
      list.items[list.items.length - 1] += ` ${line.trim()}`;
    } else {
      if (list) flush();
      paragraph.push(line);
    }
  }
  flush();
  return blocks;
}

const INLINE = /(\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/g;

export function renderInline(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let key = 0;
  for (const match of text.matchAll(INLINE)) {
    const at = match.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    const [, , bold, italic, code, linkText, href] = match;
    if (bold !== undefined) out.push(<strong key={key++}>{renderInline(bold)}</strong>);
    else if (italic !== undefined) out.push(<em key={key++}>{italic}</em>);
    else if (code !== undefined) out.push(<code key={key++}>{code}</code>);
    else if (linkText !== undefined && href !== undefined) {
      out.push(
        /^https?:\/\//i.test(href) ? (
          <a key={key++} href={href} target="_blank" rel="noopener noreferrer">
            {linkText}
          </a>
        ) : (
          <Fragment key={key++}>{linkText}</Fragment>
        ),
      );
    }
    last = at + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

interface Props {
  text: string;
  /** The level its headings take in the page's outline (2 to 6). */
  headingLevel?: 2 | 3 | 4 | 5 | 6;
}

export function Markdown({ text, headingLevel = 4 }: Props) {
  const Heading = `h${headingLevel}` as const;
  return (
    <div className="markdown">
      {parseBlocks(text).map((block, i) => {
        if (block.kind === "heading") return <Heading key={i}>{renderInline(block.text)}</Heading>;
        if (block.kind === "paragraph") return <p key={i}>{renderInline(block.text)}</p>;
        const List = block.ordered ? "ol" : "ul";
        return (
          <List key={i}>
            {block.items.map((item, j) => (
              <li key={j}>{renderInline(item)}</li>
            ))}
          </List>
        );
      })}
    </div>
  );
}
