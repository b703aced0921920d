import { useEffect, useState } from 'react';
import { SelectableValue } from '@grafana/data';

import { DataSource } from '../datasource';

/** A field as the backend's /fields resource lists it. */
export interface FieldKey {
  name: string;
  type: string;
}

/**
 * Loads picker options from one of the backend's schema resources
 * (measurements, fields, tag-keys, tag-values). It reloads when the
 * parameters change and skips the request while a required one is empty.
 */
export function useSchema(
  datasource: DataSource,
  resource: 'measurements' | 'fields' | 'tag-keys' | 'tag-values',
  params: Record<string, string | undefined>,
  required: string[] = []
): Array<SelectableValue<string>> {
  const [options, setOptions] = useState<Array<SelectableValue<string>>>([]);
  const key = JSON.stringify(params);
  useEffect(() => {
    if (required.some((r) => !params[r])) {
      setOptions([]);
      return;
    }
    let cancelled = false;
    const query = Object.fromEntries(Object.entries(params).filter(([, v]) => v));
    datasource
      .getResource(resource, query)
      .then((result: Array<string | FieldKey>) => {
        if (!cancelled) {
          setOptions(
            (result ?? []).map((r) =>
              typeof r === 'string' ? { label: r, value: r } : { label: r.name, value: r.name, description: r.type }
            )
          );
        }
      })
      .catch(() => !cancelled && setOptions([]));
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [datasource, resource, key]);
  return options;
}
