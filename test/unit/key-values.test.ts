import { describe, expect, it } from 'vitest';
import { isKeyValueList, parseKeyValues } from '../../src/domain/key-values.js';

describe('parseKeyValues', () => {
  it.each([
    ['max-size=10m,max-file=3', { 'max-size': '10m', 'max-file': '3' }],
    ['', {}],
    ['   ', {}],
    [' a=1 , b=2 ', { a: '1', b: '2' }],
    ['novalue,=x,k=', { k: '' }],
    ['labels=a=b', { labels: 'a=b' }],
    ['k=1,k=2', { k: '2' }],
    [',,,', {}],
  ])('%j', (raw, expected) => {
    expect(parseKeyValues(raw)).toEqual(expected);
  });

  it('takes another separator', () => {
    expect(parseKeyValues('g1:run_container, g2:pull_image', ':')).toEqual({ g1: 'run_container', g2: 'pull_image' });
  });
});

describe('isKeyValueList', () => {
  it.each([
    ['', true],
    ['  ', true],
    ['max-size=10m,max-file=3', true],
    [' a=1 , b= ', true],
    ['labels=a=b', true],
    ['max-size', false],
    ['max-size=1m,,x=1', false],
    ['=x', false],
    ['a b=1', false],
  ])('%j → %s', (raw, expected) => {
    expect(isKeyValueList(raw)).toBe(expected);
  });

  it('takes another separator', () => {
    expect([isKeyValueList('g1:start', ':'), isKeyValueList('g1=start', ':')]).toEqual([true, false]);
  });
});
