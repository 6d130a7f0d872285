// A user field that searches the identity provider as the administrator types (name, mail or
// UPN prefix) and offers the matches; any exact reference (UPN, mail, object id, Jira user name)
// can still be typed and used as it is.
import { useEffect, useRef, useState } from 'react';
import { Autocomplete, Loader, Text } from '@mantine/core';
import { get } from '../api';

interface Hit {
  id: string;
  displayName: string | null;
  userPrincipalName: string | null;
  mail: string | null;
}

interface Props {
  connectorId: string;
  label: string;
  placeholder?: string;
  value: string;
  onChange: (value: string) => void;
  disabled?: boolean;
  size?: 'xs' | 'sm';
  w?: number;
  style?: React.CSSProperties;
}

/** What a picked user is filled in as: the most exact name a sync accepts. */
const referenceOf = (h: Hit) => h.userPrincipalName ?? h.mail ?? h.id;

export function UserPicker({ connectorId, label, placeholder, value, onChange, disabled, size, w, style }: Props) {
  const [hits, setHits] = useState<Hit[]>([]);
  const [searching, setSearching] = useState(false);
  const [problem, setProblem] = useState<string>();
  const seq = useRef(0);

  useEffect(() => {
    const q = value.trim();
    // A picked (or fully typed) reference needs no search; two letters are the least worth asking about.
    if (q.length < 2 || hits.some((h) => referenceOf(h) === q)) return;
    const mine = ++seq.current;
    const timer = setTimeout(async () => {
      setSearching(true);
      try {
        const r = await get(`/connectors/${encodeURIComponent(connectorId)}/user-search?q=${encodeURIComponent(q)}&limit=10`);
        if (mine === seq.current) {
          setHits(r.users);
          setProblem(undefined);
        }
      } catch (e) {
        if (mine === seq.current) setProblem((e as Error).message);
      } finally {
        if (mine === seq.current) setSearching(false);
      }
    }, 250);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value, connectorId]);

  const byReference = new Map(hits.map((h) => [referenceOf(h), h]));
  return (
    <Autocomplete
      label={label}
      placeholder={placeholder}
      value={value}
      onChange={onChange}
      disabled={disabled}
      size={size}
      w={w}
      style={style}
      data={[...byReference.keys()]}
      // The server already matched by name, mail or UPN; filtering again by the value would hide
      // users found by their display name.
      filter={({ options }) => options}
      limit={10}
      rightSection={searching ? <Loader size={14} /> : null}
      error={problem}
      renderOption={({ option }) => {
        const h = byReference.get(option.value);
        return (
          <div>
            <Text size="sm">{h?.displayName ?? option.value}</Text>
            <Text size="xs" c="dimmed">{option.value}{h?.mail && h.mail !== option.value ? ` · ${h.mail}` : ''}</Text>
          </div>
        );
      }}
    />
  );
}
