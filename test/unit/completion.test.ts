import fc from 'fast-check';
import {
  newerOnDemandRotation,
  rotationConfirmed,
  type RotationObservation,
} from '../../lambdas/domain/rotation/rotation';

const BEFORE_DATE = '2025-05-01T10:00:00.000Z';

function seen(overrides: Partial<RotationObservation> = {}): RotationObservation {
  return {
    onDemandRotationStartDate: null,
    lastOnDemandRotation: new Date(BEFORE_DATE),
    currentKeyMaterialId: 'material-1',
    ...overrides,
  };
}

type Before = { previousRotationDate: string | null; previousKeyMaterialId: string | null };

const before: Before = { previousRotationDate: BEFORE_DATE, previousKeyMaterialId: 'material-1' };

describe('rotationConfirmed', () => {
  it.each<[string, Partial<RotationObservation>, Before, boolean]>([
    [
      'rotation still in progress',
      {
        onDemandRotationStartDate: new Date('2025-06-01T12:00:00Z'),
        lastOnDemandRotation: new Date('2025-06-01T12:00:01Z'),
      },
      before,
      false,
    ],
    [
      'in progress even though the material already differs',
      { onDemandRotationStartDate: new Date('2025-06-01T12:00:00Z'), currentKeyMaterialId: 'material-2' },
      before,
      false,
    ],
    ['newer ON_DEMAND rotation', { lastOnDemandRotation: new Date('2025-06-01T12:05:00Z') }, before, true],
    ['newer by one millisecond', { lastOnDemandRotation: new Date(Date.parse(BEFORE_DATE) + 1) }, before, true],
    ['same rotation date, same material', {}, before, false],
    ['same rotation date, material changed', { currentKeyMaterialId: 'material-2' }, before, true],
    [
      'older rotation date (list out of date), same material',
      { lastOnDemandRotation: new Date('2025-04-01T00:00:00Z') },
      before,
      false,
    ],
    ['rotation entry not listed yet, same material', { lastOnDemandRotation: null }, before, false],
    [
      'rotation entry not listed yet, material changed',
      { lastOnDemandRotation: null, currentKeyMaterialId: 'material-2' },
      before,
      true,
    ],
    ['material unknown now (DescribeKey gave none)', { currentKeyMaterialId: null }, before, false],
    [
      'no previous rotation, first rotation listed',
      { lastOnDemandRotation: new Date('2025-06-01T12:05:00Z') },
      { previousRotationDate: null, previousKeyMaterialId: 'material-1' },
      true,
    ],
    [
      'no previous rotation, none listed, same material',
      { lastOnDemandRotation: null },
      { previousRotationDate: null, previousKeyMaterialId: 'material-1' },
      false,
    ],
    [
      'previous material unknown, same date',
      { currentKeyMaterialId: 'material-9' },
      { previousRotationDate: BEFORE_DATE, previousKeyMaterialId: null },
      false,
    ],
  ])('%s -> %s', (_name, observed, prior, expected) => {
    // When
    const confirmed = rotationConfirmed(seen(observed), prior);

    // Then
    expect(confirmed).toBe(expected);
  });

  it('property: never confirmed while a rotation is in progress', () => {
    fc.assert(
      fc.property(
        fc.date({ noInvalidDate: true }),
        fc.option(fc.date({ noInvalidDate: true }), { nil: null }),
        fc.option(fc.string(), { nil: null }),
        fc.option(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          { nil: null },
        ),
        fc.option(fc.string(), { nil: null }),
        (start, last, material, previousRotationDate, previousKeyMaterialId) => {
          expect(
            rotationConfirmed(
              { onDemandRotationStartDate: start, lastOnDemandRotation: last, currentKeyMaterialId: material },
              { previousRotationDate, previousKeyMaterialId },
            ),
          ).toBe(false);
        },
      ),
    );
  });
});

describe("newerOnDemandRotation (the one test Rotate's guard and completion share)", () => {
  it.each<[string, Date | null, string | null, boolean]>([
    ['later than the one seen before', new Date('2025-05-01T10:00:00.001Z'), BEFORE_DATE, true],
    ['the same rotation', new Date(BEFORE_DATE), BEFORE_DATE, false],
    ['an older one', new Date('2025-04-01T00:00:00Z'), BEFORE_DATE, false],
    ['none listed', null, BEFORE_DATE, false],
    ['none seen before, one listed', new Date('2020-01-01T00:00:00Z'), null, true],
    ['none seen before, none listed', null, null, false],
  ])('%s -> %s', (_name, last, previous, expected) => {
    expect(newerOnDemandRotation(last, previous)).toBe(expected);
  });
});
