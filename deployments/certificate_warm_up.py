"""Imported by the flow runs' forkserver before it forks anything (``warm_start.PRELOAD``):
renders a throwaway certificate per language, so each closing pass's first certificate is
rendered warm. Its import is the point; it never raises (``tasks.certificate.warm_up``)."""

from tasks.certificate import warm_up

warm_up()
