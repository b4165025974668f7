"""Locust load tests of liveshop and the tools around them: prepare a run, audit it afterwards."""
