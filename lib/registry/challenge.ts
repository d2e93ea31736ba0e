// Parses WWW-Authenticate challenges (RFC 9110 §11.6.1), e.g. `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"`.
//
// Written here rather than taken from npm: the well-used parser (auth-header) reads a single
// challenge per header, but fetch joins repeated WWW-Authenticate headers with ", ", so several
// challenges arrive in one string and must be told apart from their parameters.

export interface Challenge {
  /** Lower-case scheme: "basic", "bearer", … */
  scheme: string;
  /** Parameters by lower-case name, quoted values unquoted. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one instead of parameters. */
  token68?: string;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;

export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;

  const match = (re: RegExp): string | null => {
    re.lastIndex = i;
    const m = re.exec(header);
    if (!m) return null;
    i = re.lastIndex;
    return m[0];
  };
  const skipSpaces = () => {
    while (header[i] === " " || header[i] === "\t") i++;
  };
  const quoted = (): string => {
    let value = "";
    i++; // opening quote
    while (i < header.length && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < header.length) i++;
      value += header[i++];
    }
    i++; // closing quote (or past the end of an unterminated one)
    return value;
  };
  const atEndOfItem = () => {
    const save = i;
    skipSpaces();
    const end = i >= header.length || header[i] === ",";
    i = save;
    return end;
  };

  while (i < header.length) {
    while (header[i] === " " || header[i] === "\t" || header[i] === ",") i++;
    if (i >= header.length) break;
    const scheme = match(TOKEN);
    if (!scheme) {
      i++; // not a challenge; skip the stray character
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    skipSpaces();

    // token68: a lone value after the scheme, e.g. `Negotiate abc==`.
    const before = i;
    const token68 = match(TOKEN68);
    if (token68 !== null && atEndOfItem()) {
      challenge.token68 = token68;
      continue;
    }
    i = before;

    // auth-params: name = (token | quoted-string), separated by commas. A token that is not
    // followed by "=" is the scheme of the next challenge.
    for (;;) {
      const start = i;
      skipSpaces();
      const name = match(TOKEN);
      skipSpaces();
      if (!name || header[i] !== "=") {
        i = start;
        break;
      }
      i++;
      skipSpaces();
      const value = header[i] === '"' ? quoted() : (match(TOKEN) ?? "");
      challenge.params[name.toLowerCase()] = value;
      skipSpaces();
      if (header[i] !== ",") break;
      i++;
    }
  }
  return challenges;
}
