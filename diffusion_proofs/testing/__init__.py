"""Testing extras: the pytest plugin (:mod:`.plugin`, fixtures ``assert_proved`` and
``assert_conforms``) and Hypothesis strategies for schedules (:mod:`.strategies`)."""
