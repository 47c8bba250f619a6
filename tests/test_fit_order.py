"""helpers.fit_order: the orders fit() feeds rows in, recorded from fit() itself."""

import numpy as np
import pytest

from helpers.fit_order import fit_orders, spy_model


def test_orders_are_permutations_and_a_reused_spy_records_the_same():
    orders = fit_orders(10, epochs=2, batch_size=4, seed=3)
    assert orders.shape == (2, 10) and all(sorted(order) == list(range(10)) for order in orders)
    spy = spy_model()
    fit_orders(7, epochs=1, seed=0, spy=spy)  # leave the spy with a history of its own
    assert np.array_equal(fit_orders(10, epochs=2, batch_size=4, seed=3, spy=spy), orders)
    assert not np.array_equal(fit_orders(10, epochs=1, batch_size=4, seed=4)[0], orders[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "invalid `n`: 0"),
        (dict(n=5, epochs=0), "invalid `epochs`: 0"),
        (dict(n=5, shuffle="yes"), "invalid `shuffle`: 'yes'"),
        (dict(n=5, seed=-1), "invalid `seed`: -1"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_orders(**kwargs)
